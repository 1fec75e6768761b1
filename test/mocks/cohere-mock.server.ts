import { ServerResponse } from 'node:http';
import { RecordedCall, RunningMock, sendJson, startMock, words } from 'test/mocks/mock-http';

/**
 * A local Cohere v2 API (https://docs.cohere.com/reference/chat, /reference/embed) for e2e tests:
 * `POST /v2/chat` as JSON or as SSE (`event: <type>` + `data: {"type": ...}` per event:
 * message-start, content-start/-delta/-end, tool-plan-delta, tool-call-start/-delta/-end,
 * message-end with finish_reason and usage), `POST /v2/embed` (`embeddings_by_type`), Bearer auth,
 * and Cohere's `{"id","message"}` error body. Behaviour:
 *   - a reply is `echo: <last user text>`; `max_tokens` cuts it to that many words (MAX_TOKENS);
 *   - with `tools` and a user turn last, the model calls the first tool with {"location":"Paris"}
 *     (TOOL_CALL); with a tool result last, it answers `weather: <tool content>`;
 *   - usage: billed input tokens = words in all messages, output = words in the reply; raw `tokens`
 *     add a 200-token prompt template, as Cohere's do;
 *   - model `mock-429` → 429 trial-key limit (retry-after: 5); `mock-400` → 400 invalid request;
 *     `mock-500` → 500 internal error; an unknown `input_type` on embed → 400.
 */
export const COHERE_MOCK_API_KEY = 'co-mock-valid-key';

export type CohereMock = RunningMock;

function error(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
  sendJson(res, status, { id: 'a5d2f8d4-0000-4000-8000-000000000000', message }, headers);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: string; text?: string }) => (part.type === 'text' ? (part.text ?? '') : ''))
      .join(' ');
  }
  return '';
}

interface Message {
  role: string;
  content?: unknown;
}

let counter = 0;
const nextId = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;

export async function startCohereMock(): Promise<CohereMock> {
  return startMock(handle, (res) => error(res, 400, 'invalid request: unable to parse request body'));
}

function handle(call: RecordedCall, _req: unknown, res: ServerResponse): void {
  if (call.method !== 'POST' || (call.path !== '/v2/chat' && call.path !== '/v2/embed')) {
    error(res, 404, `no route for ${call.method} ${call.path}`);
    return;
  }
  if (call.headers.authorization !== `Bearer ${COHERE_MOCK_API_KEY}`) {
    error(res, 401, 'invalid api token');
    return;
  }
  const body = call.body;
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    error(res, 400, 'invalid request: model must be specified');
    return;
  }
  if (model === 'mock-429') {
    error(res, 429, 'You are using a Trial key, which is limited to 10 API calls / minute.', {
      'retry-after': '5',
    });
    return;
  }
  if (model === 'mock-400') {
    error(
      res,
      400,
      'invalid request: message must be at least 1 token long or tool results must be specified.',
    );
    return;
  }
  if (model === 'mock-500') {
    error(res, 500, 'internal server error, this has been reported to our developers');
    return;
  }
  if (call.path === '/v2/embed') embed(body, res);
  else chat(body, res);
}

function embed(body: Record<string, unknown>, res: ServerResponse): void {
  const texts = body.texts;
  const types = body.embedding_types;
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
    error(res, 400, 'invalid request: texts must be a list of strings');
    return;
  }
  if (
    !['search_document', 'search_query', 'classification', 'clustering'].includes(String(body.input_type))
  ) {
    error(res, 400, 'invalid request: valid input_type must be provided with the provided model');
    return;
  }
  if (!Array.isArray(types) || !types.every((t) => t === 'float')) {
    error(res, 400, 'invalid request: embedding_types must be ["float"] on this mock');
    return;
  }
  // A deterministic 4-dimensional vector per text: its word count, length, and two fixed components.
  const vectors = texts.map((t) => [words(t).length, t.length / 100, 0.5, -0.25]);
  const tokens = texts.reduce((sum, t) => sum + words(t).length, 0);
  sendJson(res, 200, {
    id: nextId(),
    embeddings: { float: vectors },
    texts,
    meta: { api_version: { version: '2' }, billed_units: { input_tokens: tokens } },
    response_type: 'embeddings_by_type',
  });
}

function chat(body: Record<string, unknown>, res: ServerResponse): void {
  const messages = body.messages as Message[] | undefined;
  if (!Array.isArray(messages) || messages.length === 0) {
    error(res, 400, 'invalid request: messages must not be empty');
    return;
  }
  for (const m of messages) {
    if (!['system', 'user', 'assistant', 'tool'].includes(m.role)) {
      error(res, 400, `invalid request: invalid role '${m.role}'`);
      return;
    }
  }
  if (typeof body.temperature === 'number' && (body.temperature < 0 || body.temperature > 1)) {
    error(res, 400, 'invalid request: temperature must be between 0 and 1');
    return;
  }
  const last = messages[messages.length - 1];
  const tools = Array.isArray(body.tools) ? (body.tools as { function: { name: string } }[]) : [];
  const inputTokens = messages.reduce((sum, m) => sum + words(textOf(m.content)).length, 0);
  const id = nextId();
  let text = '';
  let toolCall: { id: string; type: 'function'; function: { name: string; arguments: string } } | undefined;
  let finish = 'COMPLETE';
  if (last.role === 'tool') {
    text = `weather: ${textOf(last.content)}`;
  } else if (tools.length > 0 && last.role === 'user' && body.tool_choice !== 'NONE') {
    toolCall = {
      id: `${tools[0].function.name}_mock${counter}`,
      type: 'function',
      function: { name: tools[0].function.name, arguments: '{"location":"Paris"}' },
    };
    finish = 'TOOL_CALL';
  } else {
    text = `echo: ${textOf(last.content)}`;
  }
  let pieces = words(text);
  if (typeof body.max_tokens === 'number' && pieces.length > body.max_tokens) {
    pieces = pieces.slice(0, body.max_tokens);
    finish = 'MAX_TOKENS';
  }
  text = pieces.join(' ');
  const outputTokens = toolCall ? 12 : pieces.length;
  const usage = {
    billed_units: { input_tokens: inputTokens, output_tokens: outputTokens },
    tokens: { input_tokens: inputTokens + 200, output_tokens: outputTokens },
  };
  if (body.stream !== true) {
    const message: Record<string, unknown> = { role: 'assistant' };
    if (toolCall) {
      message.tool_plan = 'I will look up the weather.';
      message.tool_calls = [toolCall];
    } else {
      message.content = [{ type: 'text', text }];
    }
    sendJson(res, 200, { id, finish_reason: finish, message, usage });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event: Record<string, unknown>) =>
    res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
  send({
    id,
    type: 'message-start',
    delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } },
  });
  if (toolCall) {
    send({ type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will look up the weather.' } } });
    send({
      type: 'tool-call-start',
      index: 0,
      delta: {
        message: { tool_calls: { ...toolCall, function: { name: toolCall.function.name, arguments: '' } } },
      },
    });
    for (const part of ['{"location":', '"Paris"}']) {
      send({
        type: 'tool-call-delta',
        index: 0,
        delta: { message: { tool_calls: { function: { arguments: part } } } },
      });
    }
    send({ type: 'tool-call-end', index: 0 });
  } else {
    send({ type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } });
    pieces.forEach((word, i) => {
      send({
        type: 'content-delta',
        index: 0,
        delta: { message: { content: { text: i === 0 ? word : ` ${word}` } } },
      });
    });
    send({ type: 'content-end', index: 0 });
  }
  send({ type: 'message-end', delta: { finish_reason: finish, usage } });
  res.end();
}
