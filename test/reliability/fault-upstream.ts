import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * The upstream of a reliability run: OpenAI Chat Completions (JSON, and SSE with a usage chunk when
 * `stream_options.include_usage` is set), with one fault behaviour per path prefix, so each gateway
 * endpoint points at the behaviour its scenario needs (`openai_api_base: <url>/f/<mode>/v1`):
 *   ok     answers at once
 *   flaky  fails `failRate` of calls (seeded): half 5xx in OpenAI's envelope, half a reset socket
 *   hang   accepts, reads the body and never answers (until the client goes away)
 *   slow   streams one chunk every `chunkMs` up to `chunks`, then finishes
 *   echo   answers 401 with the caller's full Authorization header in the message (a careless upstream)
 * Each call carries a marker `[rid:<id>]` in its first user message (the harness's request id), so a
 * scenario can tie what the upstream saw to what its client saw.
 */
export type FaultMode = 'ok' | 'flaky' | 'hang' | 'slow' | 'echo';

export interface UpstreamCall {
  mode: FaultMode;
  rid: string | undefined;
  at: number;
  /** When the gateway closed the connection before the answer was complete (ms epoch). */
  abortedAt?: number;
  failed?: 'status' | 'reset';
  promptTokens: number;
  completionTokens: number;
  /** Usage sent back (what a provider would bill). */
  billed: boolean;
}

export interface FaultUpstream {
  url: string;
  calls: UpstreamCall[];
  settings: { failRate: number; chunkMs: number; chunks: number };
  byMode(mode: FaultMode, since?: number): UpstreamCall[];
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, so the faults of a run are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODES: readonly FaultMode[] = ['ok', 'flaky', 'hang', 'slow', 'echo'];
const HANG_LIMIT_MS = 120_000;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function firstUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role?: unknown; content?: unknown }[])
    : [];
  const user = messages.find((m) => m && m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

export async function startFaultUpstream(seed: number): Promise<FaultUpstream> {
  const random = seededRandom(seed);
  const calls: UpstreamCall[] = [];
  const sockets = new Set<Socket>();
  const settings = { failRate: 0.1, chunkMs: 100, chunks: 300 };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const match = /^\/f\/([a-z]+)\/v1\/chat\/completions$/.exec((req.url ?? '').split('?')[0]);
    const mode =
      match && (MODES as readonly string[]).includes(match[1]) ? (match[1] as FaultMode) : undefined;
    if (!mode || req.method !== 'POST') {
      send(res, 404, {
        error: { message: 'not found', type: 'invalid_request_error', param: null, code: null },
      });
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      send(res, 400, {
        error: { message: 'bad json', type: 'invalid_request_error', param: null, code: null },
      });
      return;
    }
    const text = firstUserText(body);
    const call: UpstreamCall = {
      mode,
      rid: /\[rid:([A-Za-z0-9._-]+)\]/.exec(text)?.[1],
      at: Date.now(),
      promptTokens: Math.max(1, text.split(/\s+/).filter(Boolean).length),
      completionTokens: 0,
      billed: false,
    };
    calls.push(call);
    res.once('close', () => {
      if (!res.writableFinished && call.abortedAt === undefined) call.abortedAt = Date.now();
    });
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
    const completion =
      maxTokens !== undefined && maxTokens >= 1 && maxTokens <= 64 ? Math.floor(maxTokens) : 8;
    const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
    const stream = body.stream === true;
    const includeUsage =
      !!body.stream_options &&
      typeof body.stream_options === 'object' &&
      (body.stream_options as Record<string, unknown>).include_usage === true;

    if (mode === 'hang') {
      const timer = setTimeout(() => res.destroy(), HANG_LIMIT_MS);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (mode === 'echo') {
      send(res, 401, {
        error: {
          message: `Incorrect API key provided: ${String(req.headers.authorization ?? '')}`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
      return;
    }
    if (mode === 'flaky' && random() < settings.failRate) {
      if (random() < 0.5) {
        call.failed = 'status';
        send(res, 503, {
          error: { message: 'The server is overloaded', type: 'server_error', param: null, code: null },
        });
      } else {
        call.failed = 'reset';
        req.socket.resetAndDestroy();
      }
      return;
    }
    const id = `chatcmpl-${calls.length}`;
    const created = Math.floor(Date.now() / 1000);
    const words = Array.from({ length: completion }, (_, i) => `w${i}`);
    const usage = {
      prompt_tokens: call.promptTokens,
      completion_tokens: completion,
      total_tokens: call.promptTokens + completion,
    };
    if (!stream) {
      call.completionTokens = completion;
      call.billed = true;
      send(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: words.join(' ') },
            logprobs: null,
            finish_reason: maxTokens === completion ? 'length' : 'stop',
          },
        ],
        usage,
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null));
    const total = mode === 'slow' ? settings.chunks : words.length;
    let sent = 0;
    const finish = () => {
      call.completionTokens = sent;
      res.write(chunk({}, 'stop'));
      if (includeUsage) {
        call.billed = true;
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: call.promptTokens, completion_tokens: sent, total_tokens: call.promptTokens + sent } })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
    };
    if (mode !== 'slow') {
      for (const word of words) {
        res.write(chunk({ content: `${word} ` }, null));
        sent++;
      }
      finish();
      return;
    }
    const timer = setInterval(() => {
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      res.write(chunk({ content: `w${sent} ` }, null));
      sent++;
      call.completionTokens = sent;
      if (sent >= total) {
        clearInterval(timer);
        finish();
      }
    }, settings.chunkMs);
    res.once('close', () => clearInterval(timer));
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => {
      raw += part;
      if (raw.length > 4_000_000) req.destroy();
    });
    req.on('end', () => handle(req, res, raw));
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    settings,
    byMode: (mode, since = 0) => calls.filter((c) => c.mode === mode && c.at >= since),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
