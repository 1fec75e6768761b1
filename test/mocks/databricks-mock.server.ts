import { ServerResponse } from 'node:http';
import { RecordedCall, RunningMock, sendJson, startMock, words } from 'test/mocks/mock-http';

/**
 * A local Databricks Model Serving workspace for e2e tests
 * (https://docs.databricks.com/api/workspace/servingendpoints/query): `POST
 * /serving-endpoints/{name}/invocations` with a Bearer token, answering OpenAI-shaped chat
 * completions (JSON, or SSE chunks ending in `data: [DONE]`), completions and embeddings, chosen by
 * the body (`messages` / `prompt` / `input`), and Databricks' `{"error_code","message"}` errors.
 * Not the OpenAI mock: the path names the endpoint, a `model` key in the body is refused, and the
 * error envelope differs. Endpoints:
 *   - any name serves; the reply is `echo: <last user text>`, `max_tokens` cuts it (finish length);
 *   - `reasoning-*` answers content as parts: a `reasoning` part and a `text` part;
 *   - `mock-429` → 429 REQUEST_LIMIT_EXCEEDED; `missing` → 404 RESOURCE_DOES_NOT_EXIST.
 */
export const DATABRICKS_MOCK_TOKEN = 'dapi-mock-valid-token';

export type DatabricksMock = RunningMock;

function dbError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error_code: code, message });
}

export async function startDatabricksMock(): Promise<DatabricksMock> {
  return startMock(handle, (res) =>
    dbError(res, 400, 'MALFORMED_REQUEST', 'Invalid JSON given in the body of the request'),
  );
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? '').join(' ');
  return '';
}

function handle(call: RecordedCall, _req: unknown, res: ServerResponse): void {
  const match = /^\/serving-endpoints\/([^/]+)\/invocations$/.exec(call.path);
  if (!match || call.method !== 'POST') {
    dbError(res, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${call.method} ${call.path}'`);
    return;
  }
  if (call.headers.authorization !== `Bearer ${DATABRICKS_MOCK_TOKEN}`) {
    dbError(res, 401, 'UNAUTHENTICATED', 'Invalid access token.');
    return;
  }
  const name = decodeURIComponent(match[1]);
  if (name === 'missing') {
    dbError(res, 404, 'RESOURCE_DOES_NOT_EXIST', `Endpoint with name '${name}' does not exist.`);
    return;
  }
  if (name === 'mock-429') {
    dbError(res, 429, 'REQUEST_LIMIT_EXCEEDED', 'Exceeded workspace rate limit for Foundation Model APIs.');
    return;
  }
  const body = call.body;
  if (body.model !== undefined) {
    dbError(res, 400, 'BAD_REQUEST', "The parameter 'model' is not supported for this endpoint.");
    return;
  }
  const created = Math.floor(Date.now() / 1000);
  if (Array.isArray(body.input) || typeof body.input === 'string') {
    const inputs = (Array.isArray(body.input) ? body.input : [body.input]) as string[];
    const tokens = inputs.reduce((sum, t) => sum + words(String(t)).length, 0);
    sendJson(res, 200, {
      object: 'list',
      model: 'gte-large-en-v1.5',
      data: inputs.map((t, index) => ({
        object: 'embedding',
        index,
        embedding: [words(String(t)).length, 1, 0],
      })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    return;
  }
  const isChat = Array.isArray(body.messages);
  if (!isChat && typeof body.prompt !== 'string') {
    dbError(res, 400, 'BAD_REQUEST', 'Request must include messages, prompt or input.');
    return;
  }
  const messages = (isChat ? body.messages : []) as { role: string; content: unknown }[];
  const userText = isChat
    ? textOf([...messages].reverse().find((m) => m.role === 'user')?.content)
    : String(body.prompt);
  const promptTokens = isChat
    ? messages.reduce((sum, m) => sum + words(textOf(m.content)).length, 0)
    : words(String(body.prompt)).length;
  let pieces = words(`echo: ${userText}`);
  let finish = 'stop';
  if (typeof body.max_tokens === 'number' && pieces.length > body.max_tokens) {
    pieces = pieces.slice(0, body.max_tokens);
    finish = 'length';
  }
  const text = pieces.join(' ');
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: pieces.length,
    total_tokens: promptTokens + pieces.length,
  };
  const id = `chatcmpl_${created}${pieces.length}`;
  const model = `served-${name}`;
  if (!isChat) {
    sendJson(res, 200, {
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
      usage,
    });
    return;
  }
  const content = name.startsWith('reasoning-')
    ? [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking it over', signature: 'x' }] },
        { type: 'text', text },
      ]
    : text;
  if (body.stream !== true) {
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish, logprobs: null }],
      usage,
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (
    delta: Record<string, unknown>,
    finishReason: string | null,
    extra: Record<string, unknown> = {},
  ) =>
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`,
    );
  chunk({ role: 'assistant', content: '' }, null);
  pieces.forEach((word, i) => chunk({ content: i === 0 ? word : ` ${word}` }, null));
  chunk({}, finish, { usage });
  res.write('data: [DONE]\n\n');
  res.end();
}
