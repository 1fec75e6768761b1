import { createServer, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A wire-faithful local stand-in for Anthropic's Messages API (`POST /v1/messages`), for e2e tests.
 *
 * Deterministic behaviour:
 * - reply text is `"echo: " + <text of the last user message>` (text blocks and tool_result texts);
 * - `usage.input_tokens` = whitespace-separated words in every message's text plus the system prompt,
 *   `usage.output_tokens` = words in the reply (a tool call counts the words of its JSON input);
 * - with `tools`, a last user message containing "weather" (or tool_choice `any`/`tool`) gets a
 *   `tool_use` block for the first (or the named) tool with input `{"location":"Paris"}`;
 * - `stop_sequences` cut the reply (`stop_reason: stop_sequence`), more words than `max_tokens` are
 *   cut to `max_tokens` words (`stop_reason: max_tokens`).
 *
 * Faults by model name: `mock-429` (429 rate_limit_error, `retry-after: 7`), `mock-529` (overloaded),
 * `mock-slow` (no headers for `slowMs`, default 3000 ms), `mock-cut` (stream: message_start and two
 * deltas, then the socket is destroyed; non-stream: half a body, then destroyed), `mock-stream-error`
 * (stream: two deltas, then an `error` event; non-stream: 529).
 */

export const ANTHROPIC_MOCK_API_KEY = 'sk-ant-mock-key';
export const MOCK_TOOL_INPUT = { location: 'Paris' };

export interface AnthropicMockRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body was not JSON. */
  body: unknown;
}

export interface AnthropicMock {
  url: string;
  apiKey: string;
  requests: AnthropicMockRequest[];
  close(): Promise<void>;
}

export interface AnthropicMockOptions {
  apiKey?: string;
  slowMs?: number;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

type Json = Record<string, unknown>;

interface Reply {
  content: Json[];
  text: string;
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
  stopSequence: string | null;
  inputTokens: number;
  outputTokens: number;
}

export async function startAnthropicMock(options: AnthropicMockOptions = {}): Promise<AnthropicMock> {
  const apiKey = options.apiKey ?? ANTHROPIC_MOCK_API_KEY;
  const slowMs = options.slowMs ?? 3000;
  const requests: AnthropicMockRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;

  const server = createServer((req, res) => {
    void readBody(req).then(
      (raw) => {
        sequence += 1;
        handle(req, res, raw, sequence);
      },
      () => sendError(res, 413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.'),
    );
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: string, n: number): void {
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text below; rejected after the auth checks as Anthropic does
    }
    const path = req.url ?? '/';
    requests.push({ path, headers: req.headers, body });

    if (req.method !== 'POST' || path.split('?')[0] !== '/v1/messages') {
      return sendError(res, 404, 'not_found_error', 'Not found');
    }
    if (req.headers['x-api-key'] !== apiKey) {
      return sendError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (typeof req.headers['anthropic-version'] !== 'string' || req.headers['anthropic-version'] === '') {
      return sendError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    }
    if (!isJson(body)) {
      return sendError(res, 400, 'invalid_request_error', 'The request body is not valid JSON.');
    }
    const invalid = validate(body);
    if (invalid !== undefined) return sendError(res, 400, 'invalid_request_error', invalid);

    const model = body.model as string;
    const stream = body.stream === true;
    switch (model) {
      case 'mock-429':
        return sendError(
          res,
          429,
          'rate_limit_error',
          'Number of request tokens has exceeded your rate limit.',
          {
            'retry-after': '7',
          },
        );
      case 'mock-529':
        return sendError(res, 529, 'overloaded_error', 'Overloaded');
      case 'mock-stream-error':
        if (!stream) return sendError(res, 529, 'overloaded_error', 'Overloaded');
        break;
      case 'mock-slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) respond(res, body, n, stream, model);
        }, slowMs);
        timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
    }
    respond(res, body, n, stream, model);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function respond(res: ServerResponse, body: Json, n: number, stream: boolean, model: string): void {
  const reply = compose(body, n);
  const id = `msg_mock_${String(n).padStart(6, '0')}`;
  if (stream) return streamReply(res, id, model, reply);

  const message = {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: reply.content,
    stop_reason: reply.stopReason,
    stop_sequence: reply.stopSequence,
    usage: usage(reply.inputTokens, reply.outputTokens),
  };
  const text = JSON.stringify(message);
  if (model === 'mock-cut') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.write(text.slice(0, Math.floor(text.length / 2)), () => res.destroy());
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_mock_${n}` });
  res.end(text);
}

function streamReply(res: ServerResponse, id: string, model: string, reply: Reply): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': `req_${id}`,
  });
  res.flushHeaders();
  const send = (type: string, data: Json, written?: () => void): boolean =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`, written);

  send('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usage(reply.inputTokens, 1),
    },
  });

  const block = reply.content[0];
  const isTool = block.type === 'tool_use';
  send('content_block_start', {
    index: 0,
    content_block: isTool ? { ...block, input: {} } : { type: 'text', text: '' },
  });
  send('ping', {});
  const pieces = isTool ? jsonPieces(block.input) : textPieces(reply.text);
  const delta = (piece: string): Json =>
    isTool ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece };

  if (model === 'mock-cut' || model === 'mock-stream-error') {
    send('content_block_delta', { index: 0, delta: delta(pieces[0]) });
    if (model === 'mock-cut') {
      // Once the bytes are handed to the kernel, drop the connection mid-stream.
      send('content_block_delta', { index: 0, delta: delta(pieces[1] ?? '') }, () => res.destroy());
      return;
    }
    send('content_block_delta', { index: 0, delta: delta(pieces[1] ?? '') });
    send('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
    res.end();
    return;
  }

  for (const piece of pieces) send('content_block_delta', { index: 0, delta: delta(piece) });
  send('content_block_stop', { index: 0 });
  send('message_delta', {
    delta: { stop_reason: reply.stopReason, stop_sequence: reply.stopSequence },
    usage: { output_tokens: reply.outputTokens },
  });
  send('message_stop', {});
  res.end();
}

function compose(body: Json, n: number): Reply {
  const messages = body.messages as Json[];
  const inputTokens =
    words(textsOf(body.system).join(' ')) + words(messages.flatMap((m) => textsOf(m.content)).join(' '));
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const lastUserText = lastUser === undefined ? '' : textsOf(lastUser.content).join(' ');

  const tool = chooseTool(body, lastUserText);
  if (tool !== undefined) {
    return {
      content: [
        {
          type: 'tool_use',
          id: `toolu_mock_${String(n).padStart(6, '0')}`,
          name: tool,
          input: MOCK_TOOL_INPUT,
        },
      ],
      text: '',
      stopReason: 'tool_use',
      stopSequence: null,
      inputTokens,
      outputTokens: words(JSON.stringify(MOCK_TOOL_INPUT)),
    };
  }

  let text = `echo: ${lastUserText}`;
  let stopReason: Reply['stopReason'] = 'end_turn';
  let stopSequence: string | null = null;
  const stops = Array.isArray(body.stop_sequences)
    ? body.stop_sequences.filter((s): s is string => typeof s === 'string')
    : [];
  let cut = -1;
  for (const stop of stops) {
    const at = stop === '' ? -1 : text.indexOf(stop);
    if (at !== -1 && (cut === -1 || at < cut)) {
      cut = at;
      stopSequence = stop;
    }
  }
  if (cut !== -1) {
    text = text.slice(0, cut);
    stopReason = 'stop_sequence';
  }
  const maxTokens = body.max_tokens as number;
  const replyWords = text.split(/\s+/).filter((w) => w !== '');
  if (replyWords.length > maxTokens) {
    text = replyWords.slice(0, maxTokens).join(' ');
    stopReason = 'max_tokens';
    stopSequence = null;
  }
  return {
    content: [{ type: 'text', text }],
    text,
    stopReason,
    stopSequence,
    inputTokens,
    outputTokens: words(text),
  };
}

function chooseTool(body: Json, lastUserText: string): string | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return undefined;
  const names = body.tools.map((t) => (isJson(t) && typeof t.name === 'string' ? t.name : 'tool'));
  const choice = isJson(body.tool_choice) ? body.tool_choice : { type: 'auto' };
  if (choice.type === 'none') return undefined;
  if (choice.type === 'tool' && typeof choice.name === 'string') return choice.name;
  if (choice.type === 'any' || /\bweather\b/i.test(lastUserText)) return names[0];
  return undefined;
}

function validate(body: Json): string | undefined {
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (body.max_tokens === undefined) return 'max_tokens: Field required';
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
    return 'max_tokens: Input should be a valid integer greater than or equal to 1';
  }
  if (body.messages === undefined) return 'messages: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return 'messages: at least one message is required';
  }
  for (const [i, message] of body.messages.entries()) {
    if (!isJson(message) || (message.role !== 'user' && message.role !== 'assistant')) {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) {
      return `messages.${i}.content: Field required`;
    }
  }
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) {
    return 'system: Input should be a valid string or list';
  }
  return undefined;
}

/** Every text a message carries: string content, text blocks, and the texts inside tool_result blocks. */
function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return content.flatMap((block): string[] => {
    if (!isJson(block)) return [];
    if (block.type === 'text' && typeof block.text === 'string') return [block.text];
    if (block.type === 'tool_result') return textsOf(block.content);
    return [];
  });
}

function words(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

/** Word-sized pieces with their trailing whitespace, so the deltas concatenate to the text. */
function textPieces(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? [text];
}

function jsonPieces(input: unknown): string[] {
  const json = JSON.stringify(input);
  const third = Math.ceil(json.length / 3);
  return ['', json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)];
}

function usage(input: number, output: number): Json {
  return {
    input_tokens: input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: output,
  };
}

function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const requestId = `req_mock_error_${status}`;
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId }));
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.pause();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
