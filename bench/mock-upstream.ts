/**
 * A minimal, fast OpenAI-compatible upstream for the benchmark. One server per configured delay
 * (`MOCK_DELAYS=0,50`, milliseconds); every POST is answered as a chat completion:
 *  - JSON: a realistic ~600-byte `chat.completion` with usage, sent `delay` ms after the request body ends;
 *  - `"stream":true`: SSE, the first chunk right after the delay, then `MOCK_STREAM_CHUNKS` (10) chunks
 *    `MOCK_CHUNK_INTERVAL_MS` (5 ms) apart, the usage chunk when `include_usage` was asked, `[DONE]`.
 * The body is never parsed (a substring check is enough), so the mock costs as little CPU as possible.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { announceReady, envNumber, exitWhenParentGoes } from './common';

const CREATED = 1_732_550_400;
const MODEL = 'gpt-4o-mini-2024-07-18';
const STREAM_CHUNKS = envNumber('MOCK_STREAM_CHUNKS', 10, 1, 1_000);
const CHUNK_INTERVAL_MS = envNumber('MOCK_CHUNK_INTERVAL_MS', 5, 0, 10_000);

const ANSWER =
  'An AI gateway gives every team one endpoint, one set of credentials and one place for rate limits, ' +
  'usage accounting and provider failover. You keep application code provider-neutral while the platform ' +
  'team controls keys, budgets, routing and observability in a single, auditable layer.';

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench0000000000000000000001',
    object: 'chat.completion',
    created: CREATED,
    model: MODEL,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: ANSWER, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 42,
      completion_tokens: 58,
      total_tokens: 100,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_bench0001',
  }),
);

function chunk(delta: Record<string, unknown>, finishReason: string | null, withUsage: boolean): string {
  const body: Record<string, unknown> = {
    id: 'chatcmpl-bench0000000000000000000001',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: MODEL,
    service_tier: 'default',
    system_fingerprint: 'fp_bench0001',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  if (withUsage) body.usage = null;
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** Precomputed SSE events: [first, ...content, last] for streams with and without usage. */
function streamEvents(withUsage: boolean): { events: string[]; usage: string | undefined } {
  const words = ANSWER.split(' ');
  const per = Math.ceil(words.length / STREAM_CHUNKS);
  const events = [chunk({ role: 'assistant', content: '', refusal: null }, null, withUsage)];
  for (let i = 0; i < STREAM_CHUNKS; i++) {
    const piece = words.slice(i * per, (i + 1) * per).join(' ');
    events.push(chunk({ content: i === 0 ? piece : ` ${piece}` }, null, withUsage));
  }
  events.push(chunk({}, 'stop', withUsage));
  const usage = withUsage
    ? `data: ${JSON.stringify({
        id: 'chatcmpl-bench0000000000000000000001',
        object: 'chat.completion.chunk',
        created: CREATED,
        model: MODEL,
        service_tier: 'default',
        system_fingerprint: 'fp_bench0001',
        choices: [],
        usage: { prompt_tokens: 42, completion_tokens: 58, total_tokens: 100 },
      })}\n\n`
    : undefined;
  return { events, usage };
}

const PLAIN_STREAM = streamEvents(false);
const USAGE_STREAM = streamEvents(true);
const DONE = 'data: [DONE]\n\n';

function sendJson(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': COMPLETION.length,
    'openai-processing-ms': '1',
  });
  res.end(COMPLETION);
}

function sendStream(res: ServerResponse, includeUsage: boolean): void {
  const { events, usage } = includeUsage ? USAGE_STREAM : PLAIN_STREAM;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(events[0]);
  let next = 1;
  const tick = (): void => {
    if (res.destroyed) return;
    if (next < events.length - 1) {
      res.write(events[next++]);
      setTimeout(tick, CHUNK_INTERVAL_MS);
      return;
    }
    res.write(events[events.length - 1]);
    if (usage) res.write(usage);
    res.end(DONE);
  };
  setTimeout(tick, CHUNK_INTERVAL_MS);
}

function handler(delayMs: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
        return;
      }
      const text = parts.length === 1 ? parts[0].toString('latin1') : Buffer.concat(parts).toString('latin1');
      const stream = text.includes('"stream":true');
      const includeUsage = stream && text.includes('"include_usage":true');
      const respond = (): void => (stream ? sendStream(res, includeUsage) : sendJson(res));
      if (delayMs > 0) setTimeout(respond, delayMs);
      else respond();
    });
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const delays = (process.env.MOCK_DELAYS ?? '0')
    .split(',')
    .filter((d) => d.trim() !== '')
    .map(Number);
  if (delays.length === 0 || delays.some((d) => !Number.isFinite(d) || d < 0)) {
    throw new Error(
      `MOCK_DELAYS must be a comma-separated list of milliseconds (got '${process.env.MOCK_DELAYS}')`,
    );
  }
  const servers = delays.map((delay) => {
    const server = createServer({ keepAliveTimeout: 65_000 }, handler(delay));
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    return server;
  });
  const ports = await Promise.all(servers.map(listen));
  exitWhenParentGoes(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });
  announceReady(ports);
}

main().catch((error: unknown) => {
  process.stderr.write(`mock-upstream: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
