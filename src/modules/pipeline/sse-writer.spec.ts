import { FastifyReply } from 'fastify';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { openAISseEncoder, writeSse } from 'src/modules/pipeline/sse-writer';
import { CanonicalChunk } from 'src/modules/providers/provider-adapter';

/** A reply whose raw response records what is written. */
function fakeReply() {
  const written: string[] = [];
  const raw = {
    writableEnded: false,
    headers: {} as Record<string, string>,
    writeHead(_status: number, headers: Record<string, string>) {
      raw.headers = headers;
    },
    write(text: string) {
      written.push(text);
      return true;
    },
    end(text?: string) {
      if (text) written.push(text);
      raw.writableEnded = true;
    },
    flushHeaders() {},
    on() {},
    off() {},
  };
  const reply = { raw, hijack() {}, getHeaders: () => ({ connection: 'close' }) };
  return { reply: reply as unknown as FastifyReply, raw, written };
}

const chunk = (content: string): CanonicalChunk =>
  ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  }) as unknown as CanonicalChunk;

/** One chunk, then silence until aborted (an upstream that outlives the drain deadline). */
async function* hanging(aborted: AbortSignal): AsyncGenerator<CanonicalChunk> {
  yield chunk('hello');
  await new Promise((_, reject) => aborted.addEventListener('abort', () => reject(new Error('aborted'))));
}

describe('writeSse at the drain deadline', () => {
  const encoder = openAISseEncoder({ includeUsage: false, emitDone: true });

  it('ends an open stream with the terminal error event and aborts the upstream', async () => {
    const { reply, raw, written } = fakeReply();
    const deadline = new AbortController();
    const upstream = new AbortController();
    const done = writeSse(reply, hanging(upstream.signal), encoder, () => false, {
      deadline: deadline.signal,
      abortUpstream: () => upstream.abort(),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(written).toHaveLength(1);
    deadline.abort();
    await done;
    expect(upstream.signal.aborted).toBe(true);
    expect(raw.writableEnded).toBe(true);
    // A draining process asked for Connection: close; the stream keeps it.
    expect(raw.headers.connection).toBe('close');
    expect(written).toHaveLength(2);
    expect(JSON.parse(written[1].replace(/^data: /, ''))).toEqual({
      error: {
        message:
          'The gateway is shutting down: the stream was ended at the drain deadline. Retry the request.',
        type: 'server_error',
        param: null,
        code: 'server_shutting_down',
      },
    });
  });

  it('answers 503 when the deadline comes before the first chunk', async () => {
    const { reply, written } = fakeReply();
    const deadline = new AbortController();
    deadline.abort();
    const upstream = new AbortController();
    async function* never(): AsyncGenerator<CanonicalChunk> {
      await new Promise((_, reject) =>
        upstream.signal.addEventListener('abort', () => reject(new Error('x'))),
      );
      yield chunk('never sent');
    }
    const error = await writeSse(reply, never(), encoder, () => false, {
      deadline: deadline.signal,
      abortUpstream: () => upstream.abort(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayException);
    expect((error as GatewayException).status).toBe(503);
    expect((error as GatewayException).code).toBe('server_shutting_down');
    expect(upstream.signal.aborted).toBe(true);
    expect(written).toEqual([]);
  });

  it('leaves the end of a stream that failed unexpectedly to the exception filter, after its error event', async () => {
    const { reply, raw, written } = fakeReply();
    async function* failing(): AsyncGenerator<CanonicalChunk> {
      yield chunk('partial');
      throw new Error('bug');
    }
    const encoder = openAISseEncoder({ includeUsage: false, emitDone: true });
    await expect(writeSse(reply, failing(), encoder, () => false)).rejects.toThrow('bug');
    expect(written.at(-1)).toContain('"code":"server_error"');
    // The filter sets the invocation's error code and then ends it, so the record is concluded with it.
    expect(raw.writableEnded).toBe(false);
  });
});
