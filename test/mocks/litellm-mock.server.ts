import { ServerResponse } from 'node:http';
import { RecordedCall, RunningMock, sendJson, startMock, words } from 'test/mocks/mock-http';

/**
 * A local LiteLLM proxy (https://docs.litellm.ai/docs/simple_proxy) for e2e tests: OpenAI's wire format
 * at `/chat/completions` and `/embeddings` (also under `/v1`), a master key as Bearer token, and a
 * model list with LiteLLM's provider-prefixed names and wildcard routes (`anthropic/*`). Its errors are
 * the proxy's: OpenAI's envelope with Python's `None` as text in `type`/`param` and the status as a
 * string `code`. Behaviour:
 *   - the reply is `echo: <last user text>`; `max_tokens` cuts it (finish_reason length);
 *   - `tool_choice: "required"` answers a call of the first tool with `{"location":"Paris"}`;
 *   - streams end with a usage chunk when `stream_options.include_usage` is set, then `data: [DONE]`;
 *   - a model outside the list → 400 "Invalid model name passed in model=…"; a wrong key → 401.
 */
export const LITELLM_MOCK_MASTER_KEY = 'sk-litellm-mock-master';

/** Exact model names, and `<provider>/*` wildcards, as in a proxy's `model_list`. */
const MODEL_LIST = ['gpt-4o-mini', 'text-embedding-3-small', 'anthropic/*', 'openai/*'];

export type LiteLLMMock = RunningMock;

function proxyError(res: ServerResponse, status: number, message: string, type = 'None'): void {
  sendJson(res, status, { error: { message, type, param: 'None', code: String(status) } });
}

export async function startLiteLLMMock(): Promise<LiteLLMMock> {
  return startMock(handle, (res) => proxyError(res, 400, 'Invalid JSON payload received.'));
}

function served(model: string): boolean {
  return MODEL_LIST.some((entry) =>
    entry.endsWith('/*')
      ? model.startsWith(entry.slice(0, -1)) && model.length > entry.length - 1
      : entry === model,
  );
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? '').join(' ');
  return '';
}

function handle(call: RecordedCall, _req: unknown, res: ServerResponse): void {
  const path = call.path.replace(/^\/v1(?=\/)/, '');
  if (call.method !== 'POST' || (path !== '/chat/completions' && path !== '/embeddings')) {
    sendJson(res, 404, { detail: 'Not Found' });
    return;
  }
  if (call.headers.authorization !== `Bearer ${LITELLM_MOCK_MASTER_KEY}`) {
    proxyError(res, 401, 'Authentication Error, Invalid proxy server token passed.', 'auth_error');
    return;
  }
  const body = call.body;
  const model = typeof body.model === 'string' ? body.model : 'None';
  if (!served(model)) {
    proxyError(
      res,
      400,
      `${path}: Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models for your key.`,
    );
    return;
  }
  // The proxy answers with the provider's own model name, without LiteLLM's prefix.
  const answered = model.includes('/') ? model.slice(model.indexOf('/') + 1) : model;
  if (path === '/embeddings') {
    const inputs = (Array.isArray(body.input) ? body.input : [body.input]) as string[];
    const tokens = inputs.reduce((sum, t) => sum + words(String(t)).length, 0);
    sendJson(res, 200, {
      model: answered,
      object: 'list',
      data: inputs.map((t, index) => ({
        object: 'embedding',
        index,
        embedding: [words(String(t)).length, 0.5],
      })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    return;
  }
  const messages = (Array.isArray(body.messages) ? body.messages : []) as {
    role: string;
    content: unknown;
  }[];
  const userText = textOf([...messages].reverse().find((m) => m.role === 'user')?.content);
  const promptTokens = messages.reduce((sum, m) => sum + words(textOf(m.content)).length, 0);
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${created}-${promptTokens}`;
  const tools = Array.isArray(body.tools) ? (body.tools as { function: { name: string } }[]) : [];
  const toolCall =
    body.tool_choice === 'required' && tools.length > 0
      ? {
          id: 'call_litellm_1',
          type: 'function',
          function: { name: tools[0].function.name, arguments: '{"location":"Paris"}' },
        }
      : undefined;
  let pieces = toolCall ? [] : words(`echo: ${userText}`);
  let finish = toolCall ? 'tool_calls' : 'stop';
  if (typeof body.max_tokens === 'number' && pieces.length > body.max_tokens) {
    pieces = pieces.slice(0, body.max_tokens);
    finish = 'length';
  }
  const completion = toolCall ? 5 : pieces.length;
  const usage = {
    completion_tokens: completion,
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completion,
  };
  if (body.stream !== true) {
    sendJson(res, 200, {
      id,
      created,
      model: answered,
      object: 'chat.completion',
      system_fingerprint: null,
      choices: [
        {
          finish_reason: finish,
          index: 0,
          message: {
            content: toolCall ? null : pieces.join(' '),
            role: 'assistant',
            tool_calls: toolCall ? [toolCall] : null,
            function_call: null,
          },
        },
      ],
      usage,
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, created, model: answered, object: 'chat.completion.chunk', choices, ...extra })}\n\n`,
    );
  if (toolCall) {
    chunk([
      {
        index: 0,
        delta: { role: 'assistant', tool_calls: [{ index: 0, ...toolCall }] },
        finish_reason: null,
      },
    ]);
  } else {
    pieces.forEach((word, i) =>
      chunk([
        {
          index: 0,
          delta: i === 0 ? { role: 'assistant', content: word } : { content: ` ${word}` },
          finish_reason: null,
        },
      ]),
    );
  }
  chunk([{ index: 0, delta: {}, finish_reason: finish }]);
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage === true) chunk([], { usage });
  res.write('data: [DONE]\n\n');
  res.end();
}
