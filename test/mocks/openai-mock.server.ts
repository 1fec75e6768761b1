import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local OpenAI API for e2e tests, speaking the documented wire format: Chat Completions (JSON and
 * SSE with `stream_options.include_usage`), Completions, Embeddings, Azure deployment paths, and the
 * `{"error":{message,type,param,code}}` envelope. Faults are chosen by the requested model name:
 *   mock-429        → 429 rate_limit_exceeded with retry-after: 7
 *   mock-500        → 500 server_error            mock-503 → 503 with retry-after: 3
 *   mock-401        → 401 invalid_api_key (echoes part of the key, as OpenAI does)
 *   mock-400        → 400 context_length_exceeded
 *   mock-html       → 200 text/html page (a misbehaving proxy)
 *   mock-slow       → waits 3 s before answering    mock-slow-stream → first chunk, then silence 3 s
 *   mock-cut        → stream cut (socket destroyed) after two chunks
 *   mock-stream-err → stream error event after two chunks
 *   mock-no-done    → stream ends after finish_reason without [DONE]
 *   mock-hang       → stream sends one chunk and then stays open until the client goes away
 * Moderations (`/v1/moderations`, omni-moderation categories) flag `violence` for "kill"/"murder" and
 * `harassment` for "idiot".
 *   mock-verbatim   → replies with the first user message exactly (for JSON-output tests)
 *   mock-verbatim-on-retry → like mock-verbatim once the conversation holds an assistant turn (a retry);
 *                     before that, prefixes the text with prose, so JSON parsing fails
 * Like OpenAI, a `max_tokens` (or `max_completion_tokens`) cuts the reply to that many words and ends
 * it with finish_reason "length".
 * Whatever the model, `failNext(...faults)` makes the next requests fail (one fault each, in order) and
 * `setFault(fault)` makes every request fail (or wait) until cleared: an instance that is down or slow
 * (its `GET /health` then answers the fault's status too).
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  at: number;
}

/** A forced answer: an HTTP error in OpenAI's envelope (with Retry-After), after an optional delay. */
export interface MockFault {
  status?: number;
  retryAfter?: string;
  delayMs?: number;
}

export interface OpenAIMock {
  url: string;
  requests: RecordedRequest[];
  failNext(...faults: MockFault[]): void;
  setFault(fault: MockFault | undefined): void;
  /** Number of requests whose client connection closed before the mock finished answering. */
  aborted: () => number;
  /**
   * The usage the mock itself reported to its callers (JSON `usage` objects and stream usage chunks it
   * sent): what a provider would bill. Ledger tests compare their totals with it.
   */
  reported: () => ReportedUsage;
  close(): Promise<void>;
}

export interface ReportedUsage {
  responses: number;
  promptTokens: number;
  completionTokens: number;
}

export const MOCK_API_KEY = 'sk-mock-valid-key';

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: string; text?: string }) =>
        part.type === 'text' ? (part.text ?? '') : `[${part.type}]`,
      )
      .join(' ');
  }
  return '';
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function openAIError(
  res: ServerResponse,
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers = {},
) {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startOpenAIMock(): Promise<OpenAIMock> {
  const requests: RecordedRequest[] = [];
  const queued: MockFault[] = [];
  let standing: MockFault | undefined;
  let aborted = 0;
  const reported: ReportedUsage = { responses: 0, promptTokens: 0, completionTokens: 0 };
  const report = (usage: { prompt_tokens: number; completion_tokens?: number }) => {
    reported.responses++;
    reported.promptTokens += usage.prompt_tokens;
    reported.completionTokens += usage.completion_tokens ?? 0;
  };
  const sockets = new Set<import('node:net').Socket>();

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      res.on('close', () => {
        if (!res.writableFinished) aborted++;
      });
      let body: Record<string, unknown>;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        openAIError(
          res,
          400,
          'We could not parse the JSON body of your request.',
          'invalid_request_error',
          null,
        );
        return;
      }
      const url = new URL(req.url ?? '/', 'http://mock');
      requests.push({
        method: req.method ?? '',
        path: url.pathname + url.search,
        headers: req.headers,
        body,
        at: Date.now(),
      });
      void handle(url, req, res, body);
    });
  });

  async function handle(url: URL, req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) {
    const azure = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/.exec(
      url.pathname,
    );
    if (url.pathname === '/health' && req.method === 'GET') {
      // A health endpoint for active checks: down while a standing fault is set.
      if (standing?.status) openAIError(res, standing.status, 'unhealthy', 'server_error', null);
      else sendJson(res, 200, { status: 'ok' });
      return;
    }
    const openai = /^\/v1\/(chat\/completions|completions|embeddings|moderations)$/.exec(url.pathname);
    const op = azure?.[2] ?? openai?.[1];
    if (!op || req.method !== 'POST') {
      openAIError(res, 404, `Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error', null);
      return;
    }
    if (azure) {
      if (req.headers['api-key'] !== MOCK_API_KEY && req.headers.authorization !== `Bearer ${MOCK_API_KEY}`) {
        openAIError(
          res,
          401,
          'Access denied due to invalid subscription key.',
          'invalid_request_error',
          '401',
        );
        return;
      }
      if (!url.searchParams.get('api-version')) {
        openAIError(res, 404, 'Resource not found', 'invalid_request_error', '404');
        return;
      }
    } else if (req.headers.authorization !== `Bearer ${MOCK_API_KEY}`) {
      const given = String(req.headers.authorization ?? '').replace('Bearer ', '');
      openAIError(
        res,
        401,
        `Incorrect API key provided: ${given.slice(0, 6)}***. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      );
      return;
    }
    const model = azure ? azure[1] : typeof body.model === 'string' ? body.model : '';
    if (!azure && !body.model) {
      openAIError(res, 400, 'you must provide a model parameter', 'invalid_request_error', null);
      return;
    }
    const forced = queued.shift() ?? standing;
    if (forced && (await applyFault(forced, res))) return;
    if (await fault(model, res)) return;
    if (op === 'moderations') return moderations(res, model, body);
    if (op === 'embeddings') return embeddings(res, model, body);
    if (op === 'completions') return completions(res, model, body);
    return chat(res, model, body);
  }

  async function applyFault(forced: MockFault, res: ServerResponse): Promise<boolean> {
    if (forced.delayMs) await sleep(forced.delayMs);
    if (forced.status === undefined) return false;
    const headers: Record<string, string> = forced.retryAfter ? { 'retry-after': forced.retryAfter } : {};
    if (forced.status === 429) {
      openAIError(res, 429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded', headers);
    } else if (forced.status >= 500) {
      openAIError(
        res,
        forced.status,
        'The server had an error while processing your request.',
        'server_error',
        null,
        headers,
      );
    } else {
      openAIError(res, forced.status, 'Invalid request.', 'invalid_request_error', null, headers);
    }
    return true;
  }

  async function fault(model: string, res: ServerResponse): Promise<boolean> {
    switch (model) {
      case 'mock-429':
        openAIError(res, 429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded', {
          'retry-after': '7',
        });
        return true;
      case 'mock-500':
        openAIError(res, 500, 'The server had an error while processing your request.', 'server_error', null);
        return true;
      case 'mock-503':
        openAIError(res, 503, 'The engine is currently overloaded.', 'server_error', null, {
          'retry-after': '3',
        });
        return true;
      case 'mock-401':
        openAIError(
          res,
          401,
          'Incorrect API key provided: sk-abc***.',
          'invalid_request_error',
          'invalid_api_key',
        );
        return true;
      case 'mock-400':
        openAIError(
          res,
          400,
          "This model's maximum context length is 8192 tokens.",
          'invalid_request_error',
          'context_length_exceeded',
        );
        return true;
      case 'mock-html':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return true;
      case 'mock-slow':
        await sleep(3000);
        return false;
      default:
        return false;
    }
  }

  function usageFor(promptText: string, reply: string) {
    const prompt_tokens = words(promptText);
    const completion_tokens = words(reply);
    return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
  }

  function chat(res: ServerResponse, model: string, body: Record<string, unknown>) {
    const messages = (body.messages ?? []) as { role: string; content: unknown }[];
    const last = [...messages].reverse().find((m) => m.role === 'user');
    const first = messages.find((m) => m.role === 'user');
    const retried = messages.some((m) => m.role === 'assistant');
    let reply = `echo: ${textOf(last?.content)}`;
    if (model === 'mock-verbatim' || (model === 'mock-verbatim-on-retry' && retried)) {
      reply = textOf(first?.content);
    } else if (model === 'mock-verbatim-on-retry') {
      reply = `Sure! Here it is: ${textOf(first?.content)}`;
    }
    const limit = [body.max_tokens, body.max_completion_tokens].find((v) => typeof v === 'number');
    const cut = typeof limit === 'number' && words(reply) > limit;
    if (cut) reply = reply.split(/\s+/).filter(Boolean).slice(0, limit).join(' ');
    const usage = usageFor(messages.map((m) => textOf(m.content)).join(' '), reply);
    const tools = body.tools as { function: { name: string } }[] | undefined;
    const wantsTool = Array.isArray(tools) && tools.length > 0 && /weather/.test(textOf(last?.content));
    const id = 'chatcmpl-mock123';
    const created = 1_700_000_000;
    if (body.stream === true)
      return chatStream(res, model, body, reply, usage, wantsTool ? tools[0].function.name : undefined);
    const message = wantsTool
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: tools[0].function.name, arguments: '{"location":"Paris"}' },
            },
          ],
          refusal: null,
        }
      : { role: 'assistant', content: reply, refusal: null };
    const n = typeof body.n === 'number' ? body.n : 1;
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model: `${model}-2024-07-18`,
      choices: Array.from({ length: n }, (_, index) => ({
        index,
        message,
        logprobs: null,
        finish_reason: wantsTool ? 'tool_calls' : cut ? 'length' : 'stop',
      })),
      usage,
      system_fingerprint: 'fp_mock',
    });
    report(usage);
  }

  async function chatStream(
    res: ServerResponse,
    model: string,
    body: Record<string, unknown>,
    reply: string,
    usage: ReturnType<typeof usageFor>,
    toolName: string | undefined,
  ) {
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const base = {
      id: 'chatcmpl-mockstream',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: `${model}-2024-07-18`,
      system_fingerprint: 'fp_mock',
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null) => {
      const payload: Record<string, unknown> = {
        ...base,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      };
      if (includeUsage) payload.usage = null;
      res.write(`data: ${JSON.stringify(payload)}\n\n`);
    };
    chunk({ role: 'assistant', content: '', refusal: null }, null);
    if (toolName) {
      chunk(
        {
          tool_calls: [
            { index: 0, id: 'call_1', type: 'function', function: { name: toolName, arguments: '' } },
          ],
        },
        null,
      );
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }, null);
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null);
      chunk({}, 'tool_calls');
    } else {
      const pieces = reply.match(/\S+\s*/g) ?? [];
      for (let i = 0; i < pieces.length; i++) {
        chunk({ content: pieces[i] }, null);
        if (i === 1) {
          if (model === 'mock-cut') {
            res.socket?.destroy();
            return;
          }
          if (model === 'mock-stream-err') {
            res.write(
              `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })}\n\n`,
            );
            res.end();
            return;
          }
          if (model === 'mock-slow-stream') await sleep(3000);
          if (model === 'mock-hang') {
            await new Promise<void>((resolve) => res.on('close', () => resolve()));
            return;
          }
        }
        await sleep(2);
      }
      chunk({}, 'stop');
    }
    if (includeUsage) {
      res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
      report(usage);
    }
    if (model !== 'mock-no-done') res.write('data: [DONE]\n\n');
    res.end();
  }

  function completions(res: ServerResponse, model: string, body: Record<string, unknown>) {
    const prompt = Array.isArray(body.prompt)
      ? body.prompt.join(' ')
      : typeof body.prompt === 'string'
        ? body.prompt
        : '';
    const text = `echo: ${prompt}`;
    if (body.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const piece of text.match(/\S+\s*/g) ?? []) {
        res.write(
          `data: ${JSON.stringify({ id: 'cmpl-mock', object: 'text_completion', created: 1_700_000_000, model, choices: [{ index: 0, text: piece, logprobs: null, finish_reason: null }] })}\n\n`,
        );
      }
      res.write(
        `data: ${JSON.stringify({ id: 'cmpl-mock', object: 'text_completion', created: 1_700_000_000, model, choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'stop' }] })}\n\n`,
      );
      res.write('data: [DONE]\n\n');
      res.end();
      return;
    }
    sendJson(res, 200, {
      id: 'cmpl-mock',
      object: 'text_completion',
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }],
      usage: usageFor(prompt, text),
    });
    report(usageFor(prompt, text));
  }

  function moderations(res: ServerResponse, model: string, body: Record<string, unknown>) {
    const inputs = (Array.isArray(body.input) ? body.input : [body.input]).map((i) =>
      typeof i === 'string' ? i : JSON.stringify(i),
    );
    const names = [
      'harassment',
      'harassment/threatening',
      'hate',
      'hate/threatening',
      'illicit',
      'illicit/violent',
      'self-harm',
      'self-harm/intent',
      'self-harm/instructions',
      'sexual',
      'sexual/minors',
      'violence',
      'violence/graphic',
    ];
    const results = inputs.map((text) => {
      const on: Record<string, boolean> = {
        violence: /\b(kill|murder)\b/i.test(text),
        harassment: /\bidiot\b/i.test(text),
      };
      const categories = Object.fromEntries(names.map((n) => [n, on[n] ?? false]));
      const category_scores = Object.fromEntries(names.map((n) => [n, on[n] ? 0.93 : 0.0012]));
      return { flagged: Object.values(categories).some(Boolean), categories, category_scores };
    });
    sendJson(res, 200, { id: 'modr-mock', model: `${model}-2024-09-26`, results });
  }

  function embeddings(res: ServerResponse, model: string, body: Record<string, unknown>) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const data = inputs.map((input, index) => {
      const text = typeof input === 'string' ? input : JSON.stringify(input);
      const vector = model.startsWith(HASH_EMBEDDING_MODEL)
        ? hashEmbedding(text, typeof body.dimensions === 'number' ? body.dimensions : HASH_EMBEDDING_DIMS)
        : [text.length / 100, words(text) / 10, index];
      // Like OpenAI: `encoding_format: base64` (the SDK's default) is little-endian float32 bytes.
      const embedding =
        body.encoding_format === 'base64'
          ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
          : vector;
      return { object: 'embedding', index, embedding };
    });
    const tokens = inputs.reduce<number>(
      (sum, input) => sum + words(typeof input === 'string' ? input : ''),
      0,
    );
    sendJson(res, 200, {
      object: 'list',
      data,
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    report({ prompt_tokens: tokens });
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...faults) => queued.push(...faults),
    setFault: (fault) => (standing = fault),
    aborted: () => aborted,
    reported: () => ({ ...reported }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Models named `hash-embed…` get a deterministic bag-of-words embedding that keeps enough meaning to test
 * retrieval: each word is lower-cased, stripped of a few English suffixes (so "refunds" and "refunded"
 * meet "refund"), stop words dropped, and hashed (FNV-1a) into one of `dims` buckets with a hashed sign;
 * the vector is L2-normalised. Texts sharing content words point the same way; unrelated texts are
 * near-orthogonal.
 */
export const HASH_EMBEDDING_MODEL = 'hash-embed';
export const HASH_EMBEDDING_DIMS = 256;
const STOP_WORDS = new Set(
  'a an the and or of to in on for with is are was were be been do does did how what when where why who which can i you we it my our your this that at by from as me please about'.split(
    ' ',
  ),
);

export function hashEmbedding(text: string, dims = HASH_EMBEDDING_DIMS): number[] {
  const vector = new Array<number>(dims).fill(0);
  for (const raw of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (STOP_WORDS.has(raw)) continue;
    const word = raw.replace(/(ing|ed|es|e|s)$/, '') || raw;
    let hash = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193) >>> 0;
    vector[hash % dims] += (hash >>> 31) & 1 ? -1 : 1;
  }
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)) || 1;
  return vector.map((x) => x / norm);
}
