import { ServerResponse } from 'node:http';
import { FastifyReply } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { SseEncoder, StreamFailure } from 'src/modules/pipeline/inbound/inbound-format';
import { CanonicalChunk } from 'src/modules/providers/provider-adapter';
import { UpstreamStreamError } from 'src/modules/routing/routing.service';

export interface SseOptions {
  /** Forward usage-only chunks and `usage` fields (OpenAI `stream_options.include_usage`). */
  includeUsage: boolean;
  /** End a successful stream with `data: [DONE]` (OpenAI surface) or not (MLflow's unified endpoints). */
  emitDone: boolean;
}

function waitWritable(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}

/** The canonical (OpenAI) event stream: `data: <chunk>` frames, `data: [DONE]`, `data: {"error": …}`. */
export function openAISseEncoder(options: SseOptions): SseEncoder {
  return {
    chunk: (chunk) => (forward(chunk, options.includeUsage) ? `data: ${JSON.stringify(chunk)}\n\n` : ''),
    end: () => (options.emitDone ? 'data: [DONE]\n\n' : ''),
    error: (failure) =>
      `data: ${JSON.stringify({
        error: {
          message: failure.message,
          type: failure.type ?? (failure.code === 'upstream_error' ? 'upstream_error' : 'server_error'),
          param: null,
          code: failure.code,
        },
      })}\n\n`,
  };
}

/**
 * Writes canonical chunks as Server-Sent Events in the client's event format (the encoder's), with
 * back-pressure. The first chunk is awaited before any header goes out, so an upstream failure before
 * the first byte still gets its real status. After that, a failure becomes the format's terminal error
 * event and never a clean end.
 */
export async function writeSse(
  reply: FastifyReply,
  chunks: AsyncGenerator<CanonicalChunk>,
  encoder: SseEncoder,
  isClosed: () => boolean,
): Promise<void> {
  const raw = reply.raw;
  let first: IteratorResult<CanonicalChunk>;
  try {
    first = await chunks.next();
  } catch (error) {
    // Nothing was sent yet: the caller can still get an honest status.
    if (error instanceof UpstreamStreamError) {
      throw new GatewayException(
        502,
        GatewayErrorCode.UpstreamError,
        `Upstream stream failed: ${error.message}.`,
      );
    }
    throw error;
  }
  reply.hijack();
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(reply.getHeaders())) {
    if (typeof value === 'string') headers[key] = value;
  }
  raw.writeHead(200, {
    ...headers,
    'content-type': encoder.contentType ?? 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // The headers leave with the first event (one write, one packet), or at once if that event is dropped.
  let sent = false;
  try {
    while (!first.done) {
      if (isClosed()) break;
      const frames = encoder.chunk(first.value);
      if (frames !== '') {
        if (!raw.write(frames)) await waitWritable(raw);
      } else if (!sent) {
        raw.flushHeaders();
      }
      sent = true;
      first = await chunks.next();
    }
    if (!isClosed()) {
      const end = encoder.end();
      if (end !== '') raw.end(end);
    }
  } catch (error) {
    // A gateway decision mid-stream (a guardrail block) says why; anything unexpected stays generic.
    const decided = error instanceof GatewayException && error.status < 500;
    if (!isClosed()) {
      const failure: StreamFailure = decided
        ? {
            status: error.status,
            message: error.message,
            code: error.code,
            type: error.options.type ?? 'invalid_request_error',
          }
        : error instanceof UpstreamStreamError
          ? { status: 502, message: error.message, code: 'upstream_error' }
          : { status: 500, message: 'internal error while streaming', code: 'server_error' };
      raw.write(encoder.error(failure));
    }
    if (!(error instanceof UpstreamStreamError) && !decided) throw error;
  } finally {
    await chunks.return(undefined);
    if (!raw.writableEnded) raw.end();
  }
}

/** Drops usage-only chunks and null usage fields unless the caller asked for usage. */
function forward(chunk: CanonicalChunk, includeUsage: boolean): boolean {
  if (includeUsage) return true;
  if (chunk.choices.length === 0 && chunk.usage) return false;
  if ('usage' in chunk) delete chunk.usage;
  return true;
}
