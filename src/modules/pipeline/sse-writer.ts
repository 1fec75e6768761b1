import { ServerResponse } from 'node:http';
import { FastifyReply } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { SseEncoder, StreamFailure } from 'src/modules/pipeline/inbound/inbound-format';
import { CanonicalChunk } from 'src/modules/providers/provider-adapter';
import { UpstreamStreamError } from 'src/modules/routing/routing.service';

/** The process's shutdown: at `deadline` an open stream is ended with its terminal error event. */
export interface SseDrain {
  deadline: AbortSignal;
  /** Ends the upstream call of a stream cut at the deadline. */
  abortUpstream: () => void;
}

const DRAINED = Symbol('drained');

/** The terminal event of a stream still open at the drain deadline. */
const SHUTTING_DOWN: StreamFailure = {
  status: 503,
  message: 'The gateway is shutting down: the stream was ended at the drain deadline. Retry the request.',
  code: 'server_shutting_down',
  type: 'server_error',
};

/** The next chunk, or DRAINED when the drain deadline comes first. */
function nextOrDrained<T>(
  chunks: AsyncGenerator<T>,
  deadline: AbortSignal | undefined,
): Promise<IteratorResult<T> | typeof DRAINED> {
  if (!deadline) return chunks.next();
  if (deadline.aborted) return Promise.resolve(DRAINED);
  let onDeadline = (): void => undefined;
  const drained = new Promise<typeof DRAINED>((resolve) => {
    onDeadline = () => resolve(DRAINED);
    deadline.addEventListener('abort', onDeadline, { once: true });
  });
  // race() handles a later rejection of the losing next() (the upstream aborted after the deadline).
  return Promise.race([chunks.next(), drained]).finally(() =>
    deadline.removeEventListener('abort', onDeadline),
  );
}

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
  drain?: SseDrain,
): Promise<void> {
  const raw = reply.raw;
  let first: IteratorResult<CanonicalChunk> | typeof DRAINED;
  try {
    first = await nextOrDrained(chunks, drain?.deadline);
    if (first === DRAINED) {
      // Nothing was sent yet: an honest 503 in the surface's error envelope.
      drain?.abortUpstream();
      throw new GatewayException(503, GatewayErrorCode.ShuttingDown, SHUTTING_DOWN.message, {
        type: SHUTTING_DOWN.type,
      });
    }
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
    // Keep-alive unless the process is draining (the drain hook asked for `Connection: close`).
    connection: headers.connection ?? 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // The headers leave with the first event (one write, one packet), or at once if that event is dropped.
  let sent = false;
  let drained = false;
  let rethrown = false;
  try {
    while (first !== DRAINED && !first.done) {
      if (isClosed()) break;
      const frames = encoder.chunk(first.value);
      if (frames !== '') {
        if (!raw.write(frames)) await waitWritable(raw);
      } else if (!sent) {
        raw.flushHeaders();
      }
      sent = true;
      first = await nextOrDrained(chunks, drain?.deadline);
    }
    if (first === DRAINED) {
      drained = true;
      if (!isClosed()) raw.end(encoder.error(SHUTTING_DOWN));
      drain?.abortUpstream();
    } else if (!isClosed()) {
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
    if (!(error instanceof UpstreamStreamError) && !decided) {
      // The exception filter records the error's code on the invocation, then ends the response: ending
      // it here would conclude the record (and journal its ledger row) before the code is known.
      rethrown = true;
      throw error;
    }
  } finally {
    // After a drain the upstream was aborted: its generator settles promptly, but never wait past a second.
    const returned = chunks.return(undefined);
    if (drained) await Promise.race([returned.catch(() => undefined), sleep(1_000)]);
    else await returned;
    if (!raw.writableEnded && !rethrown) raw.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drops usage-only chunks and null usage fields unless the caller asked for usage. */
function forward(chunk: CanonicalChunk, includeUsage: boolean): boolean {
  if (includeUsage) return true;
  if (chunk.choices.length === 0 && chunk.usage) return false;
  if ('usage' in chunk) delete chunk.usage;
  return true;
}
