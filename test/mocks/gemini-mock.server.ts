import { createServer, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A wire-faithful local stand-in for Google's Gemini API, for e2e tests, in both of its homes:
 * - Google AI Studio: `POST /v1beta/models/{model}:{method}` with `x-goog-api-key` (or `?key=`);
 *   methods `generateContent`, `streamGenerateContent` (`?alt=sse` → Server-Sent Events, otherwise one
 *   JSON array streamed piecewise), `embedContent`, `batchEmbedContents`;
 * - Vertex AI: `POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}`
 *   with `Authorization: Bearer <token>` checked by `vertex.isValidToken` (the token mock's); methods
 *   `generateContent`, `streamGenerateContent` and `predict` (text embeddings API).
 * Errors use Google's envelope `{"error":{"code","message","status"}}` with Google's status codes; an
 * unknown request field is refused as Google's JSON parser refuses it.
 *
 * Deterministic behaviour:
 * - reply text is `"echo: " + <text of the last user turn>` (a function response turn echoes its JSON);
 * - `promptTokenCount` = whitespace-separated words in every turn and the system instruction,
 *   `candidatesTokenCount` = words in the reply;
 * - with `functionDeclarations`, a last user turn containing "weather" (or mode `ANY`) gets a
 *   `functionCall` of the first allowed function with args `{"location":"Paris"}` (no id, as Gemini);
 * - `gemini-3*` models sign function calls (`thoughtSignature`) and refuse (400) a later model turn
 *   whose function call lacks that signature, as Gemini 3 does;
 * - `stopSequences` cut the reply; `maxOutputTokens` cuts it to that many words (`MAX_TOKENS`);
 * - embeddings: `outputDimensionality` (default 4) values derived from the text's characters.
 *
 * Faults by model name: `mock-429` (429 RESOURCE_EXHAUSTED), `mock-503` (503 UNAVAILABLE),
 * `mock-stream-error` (stream: two text events, then an error event).
 */

export const GEMINI_MOCK_API_KEY = 'AIza-mock-gemini-key';
export const GEMINI_MOCK_TOOL_ARGS = { location: 'Paris' };
/** What `gemini-3*` models sign their function calls with, and insist on getting back. */
export const MOCK_THOUGHT_SIGNATURE = 'CiQBjz1rX3Rlc3Qtc2lnbmF0dXJl';

export interface GeminiMockRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface GeminiMock {
  url: string;
  apiKey: string;
  requests: GeminiMockRequest[];
  close(): Promise<void>;
}

export interface GeminiMockOptions {
  apiKey?: string;
  vertex?: { project: string; location: string; isValidToken: (token: string) => boolean };
}

type Json = Record<string, unknown>;

const STATUS_NAME: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const GENERATE_FIELDS = new Set([
  'contents',
  'systemInstruction',
  'system_instruction',
  'tools',
  'toolConfig',
  'safetySettings',
  'generationConfig',
  'cachedContent',
]);
const GENERATION_CONFIG_FIELDS = new Set([
  'temperature',
  'topP',
  'topK',
  'candidateCount',
  'maxOutputTokens',
  'stopSequences',
  'presencePenalty',
  'frequencyPenalty',
  'seed',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'thinkingConfig',
]);

const STUDIO_PATH = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/;
const VERTEX_PATH =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):([A-Za-z]+)$/;

export async function startGeminiMock(options: GeminiMockOptions = {}): Promise<GeminiMock> {
  const apiKey = options.apiKey ?? GEMINI_MOCK_API_KEY;
  const requests: GeminiMockRequest[] = [];
  let sequence = 0;

  const server = createServer((req, res) => {
    void readBody(req).then(
      (raw) => {
        sequence += 1;
        handle(req, res, raw, sequence);
      },
      () => sendError(res, 400, 'Request payload size exceeds the limit: 20971520 bytes.'),
    );
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: string, n: number): void {
    const url = new URL(req.url ?? '/', 'http://mock');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text; refused below
    }
    requests.push({ path: url.pathname + url.search, headers: req.headers, body });
    if (req.method !== 'POST') return sendError(res, 404, 'Method not found.');

    const studio = STUDIO_PATH.exec(url.pathname);
    const vertex = VERTEX_PATH.exec(url.pathname);
    let model: string;
    let method: string;
    if (studio !== null) {
      [, model, method] = studio;
      const key = req.headers['x-goog-api-key'] ?? url.searchParams.get('key');
      if (key === undefined || key === null) {
        return sendError(
          res,
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      }
      if (key !== apiKey) return sendError(res, 400, 'API key not valid. Please pass a valid API key.');
      if (
        !['generateContent', 'streamGenerateContent', 'embedContent', 'batchEmbedContents'].includes(method)
      ) {
        return sendError(res, 404, `Method not found: ${method}`);
      }
    } else if (vertex !== null && options.vertex !== undefined) {
      let project: string;
      let location: string;
      [, project, location, model, method] = vertex;
      const auth = String(req.headers.authorization ?? '');
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!options.vertex.isValidToken(token)) {
        return sendError(
          res,
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        );
      }
      if (project !== options.vertex.project || location !== options.vertex.location) {
        return sendError(
          res,
          403,
          `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${project}/locations/${location}/publishers/google/models/${model}' (or it may not exist).`,
        );
      }
      if (!['generateContent', 'streamGenerateContent', 'predict'].includes(method)) {
        return sendError(res, 404, `Method not found: ${method}`);
      }
    } else {
      return sendError(res, 404, 'The requested URL was not found on this server.');
    }

    if (!isJson(body)) return sendError(res, 400, 'Invalid JSON payload received. Unexpected token.');
    if (model === 'mock-429') {
      return sendError(
        res,
        429,
        'You exceeded your current quota, please check your plan and billing details.',
        [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
      );
    }
    if (model === 'mock-503') return sendError(res, 503, 'The model is overloaded. Please try again later.');

    if (method === 'embedContent' || method === 'batchEmbedContents') return embed(res, method, model, body);
    if (method === 'predict') return predict(res, body);

    const invalid = validateGenerate(body) ?? (model.startsWith('gemini-3') ? unsignedCall(body) : undefined);
    if (invalid !== undefined) return sendError(res, 400, invalid);
    const reply = compose(body);
    const id = `mockresp${String(n).padStart(6, '0')}`;
    if (method === 'generateContent') {
      return send(
        res,
        200,
        response(reply, reply.text, reply.functionCall, reply.finishReason, true, id, model),
      );
    }
    streamReply(res, url.searchParams.get('alt') === 'sse', reply, id, model);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface Reply {
  text: string;
  functionCall: Json | undefined;
  finishReason: 'STOP' | 'MAX_TOKENS';
  promptTokens: number;
  outputTokens: number;
  candidates: number;
}

function validateGenerate(body: Json): string | undefined {
  for (const key of Object.keys(body)) {
    if (!GENERATE_FIELDS.has(key))
      return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  }
  const config = body.generationConfig;
  if (config !== undefined) {
    if (!isJson(config)) return 'Invalid JSON payload received. Unknown name "generationConfig".';
    for (const key of Object.keys(config)) {
      if (!GENERATION_CONFIG_FIELDS.has(key)) {
        return `Invalid JSON payload received. Unknown name "${key}" at 'generation_config': Cannot find field.`;
      }
    }
    const maxTokens = config.maxOutputTokens;
    if (typeof maxTokens === 'number' && (maxTokens < 1 || maxTokens > 65536)) {
      return `Unable to submit request because it has a maxOutputTokens value of ${maxTokens} but the supported range is from 1 (inclusive) to 65537 (exclusive). Update the value and try again.`;
    }
    const temperature = config.temperature;
    if (typeof temperature === 'number' && (temperature < 0 || temperature > 2)) {
      return (
        'Unable to submit request because it has a temperature value of ' +
        String(temperature) +
        ' but the supported range is from 0 (inclusive) to 2.0001 (exclusive). Update the value and try again.'
      );
    }
  }
  if (!Array.isArray(body.contents) || body.contents.length === 0) {
    return '* GenerateContentRequest.contents: contents is not specified\n';
  }
  for (const content of body.contents as unknown[]) {
    if (!isJson(content) || !Array.isArray(content.parts) || content.parts.length === 0) {
      return '* GenerateContentRequest.contents.parts: contents.parts must not be empty.\n';
    }
    if (content.role !== undefined && content.role !== 'user' && content.role !== 'model') {
      return 'Please use a valid role: user, model.';
    }
  }
  return undefined;
}

/** Gemini 3 refuses a model turn whose function call comes back without the signature it was given. */
function unsignedCall(body: Json): string | undefined {
  for (const content of body.contents as Json[]) {
    if (content.role !== 'model') continue;
    for (const part of content.parts as Json[]) {
      if (isJson(part.functionCall) && part.thoughtSignature !== MOCK_THOUGHT_SIGNATURE) {
        return (
          'Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:' +
          String(part.functionCall.name) +
          '` , position 2. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.'
        );
      }
    }
  }
  return undefined;
}

function compose(body: Json): Reply {
  const contents = body.contents as Json[];
  const config = isJson(body.generationConfig) ? body.generationConfig : {};
  const system = isJson(body.systemInstruction) ? textsOf(body.systemInstruction.parts) : [];
  const promptTokens =
    words(system.join(' ')) +
    contents.reduce((sum, content) => sum + words(textsOf(content.parts).join(' ')), 0);
  const last = contents[contents.length - 1];
  const lastText = textsOf(last.parts).join(' ');
  const candidates = typeof config.candidateCount === 'number' ? config.candidateCount : 1;

  const functionName = chooseFunction(body, lastText, last);
  if (functionName !== undefined) {
    const functionCall = { name: functionName, args: GEMINI_MOCK_TOOL_ARGS };
    return {
      text: '',
      functionCall,
      finishReason: 'STOP',
      promptTokens,
      outputTokens: words(JSON.stringify(functionCall.args)),
      candidates,
    };
  }
  let text = `echo: ${lastText}`;
  let finishReason: Reply['finishReason'] = 'STOP';
  const stops = Array.isArray(config.stopSequences) ? (config.stopSequences as string[]) : [];
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0) text = text.slice(0, at);
  }
  const max = typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : undefined;
  const pieces = text.split(/\s+/).filter(Boolean);
  if (max !== undefined && pieces.length > max) {
    text = pieces.slice(0, max).join(' ');
    finishReason = 'MAX_TOKENS';
  }
  return { text, functionCall: undefined, finishReason, promptTokens, outputTokens: words(text), candidates };
}

function chooseFunction(body: Json, lastText: string, last: Json): string | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  const declarations = tools.flatMap((t) =>
    Array.isArray(t.functionDeclarations) ? (t.functionDeclarations as Json[]) : [],
  );
  if (declarations.length === 0) return undefined;
  // A turn of function responses is answered with text.
  if ((last.parts as Json[]).some((p) => isJson(p.functionResponse))) return undefined;
  const calling =
    isJson(body.toolConfig) && isJson(body.toolConfig.functionCallingConfig)
      ? body.toolConfig.functionCallingConfig
      : {};
  if (calling.mode === 'NONE') return undefined;
  const allowed = Array.isArray(calling.allowedFunctionNames)
    ? (calling.allowedFunctionNames as string[])
    : [];
  if (calling.mode === 'ANY' || /weather/i.test(lastText)) return allowed[0] ?? String(declarations[0].name);
  return undefined;
}

function response(
  reply: Reply,
  text: string,
  functionCall: Json | undefined,
  finishReason: string | undefined,
  withOutput: boolean,
  id: string,
  model: string,
): Json {
  const parts: Json[] =
    functionCall !== undefined
      ? [
          {
            functionCall,
            ...(model.startsWith('gemini-3') ? { thoughtSignature: MOCK_THOUGHT_SIGNATURE } : {}),
          },
        ]
      : [{ text }];
  const candidates = Array.from({ length: reply.candidates }, (_, index) => ({
    content: { parts, role: 'model' },
    ...(finishReason === undefined ? {} : { finishReason }),
    index,
  }));
  const output = reply.outputTokens * reply.candidates;
  return {
    candidates,
    usageMetadata: withOutput
      ? {
          promptTokenCount: reply.promptTokens,
          candidatesTokenCount: output,
          totalTokenCount: reply.promptTokens + output,
        }
      : { promptTokenCount: reply.promptTokens, totalTokenCount: reply.promptTokens },
    modelVersion: model,
    responseId: id,
  };
}

/** Events: the reply in word pieces, the last one with finishReason and the full usageMetadata. */
function streamReply(res: ServerResponse, sse: boolean, reply: Reply, id: string, model: string): void {
  const events: Json[] = [];
  if (reply.functionCall !== undefined) {
    events.push(response(reply, '', reply.functionCall, reply.finishReason, true, id, model));
  } else {
    const pieces = reply.text.match(/\S+\s*/g) ?? [''];
    const leading = reply.text.match(/^\s*/)?.[0] ?? '';
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      const text = i === 0 ? leading + piece : piece;
      events.push(response(reply, text, undefined, last ? reply.finishReason : undefined, last, id, model));
    });
  }
  if (model === 'mock-stream-error') {
    events.splice(2);
    events.push({
      error: {
        code: 503,
        message: 'The model is overloaded. Please try again later.',
        status: 'UNAVAILABLE',
      },
    });
  }
  if (sse) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff' });
    for (const event of events) res.write(`data: ${JSON.stringify(event)}\r\n\r\n`);
    res.end();
    return;
  }
  // Without alt=sse Google streams one JSON array, element by element.
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.write('[');
  events.forEach((event, i) => res.write(`${i === 0 ? '' : ',\r\n'}${JSON.stringify(event, null, 2)}`));
  res.end(']');
}

function embed(res: ServerResponse, method: string, model: string, body: Json): void {
  if (method === 'embedContent') {
    const invalid = embedInvalid(body, ['content', 'model', 'outputDimensionality', 'taskType', 'title']);
    if (invalid !== undefined) return sendError(res, 400, invalid);
    return send(res, 200, { embedding: { values: vector(body) } });
  }
  for (const key of Object.keys(body)) {
    if (key !== 'requests')
      return sendError(res, 400, `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
  }
  if (!Array.isArray(body.requests) || body.requests.length === 0) {
    return sendError(res, 400, '* BatchEmbedContentsRequest.requests: requests is not specified\n');
  }
  const embeddings: Json[] = [];
  for (const request of body.requests as unknown[]) {
    if (!isJson(request)) return sendError(res, 400, 'Invalid JSON payload received.');
    const invalid = embedInvalid(request, ['content', 'model', 'outputDimensionality', 'taskType', 'title']);
    if (invalid !== undefined) return sendError(res, 400, invalid);
    if (request.model !== `models/${model}`) {
      return sendError(
        res,
        400,
        `Model names should be provided in the format of models/${model}, got ${String(request.model)}.`,
      );
    }
    embeddings.push({ values: vector(request) });
  }
  send(res, 200, { embeddings });
}

function embedInvalid(body: Json, fields: string[]): string | undefined {
  for (const key of Object.keys(body)) {
    if (!fields.includes(key))
      return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  }
  if (!isJson(body.content) || textsOf(body.content.parts).length === 0) {
    return '* EmbedContentRequest.content: content is not specified\n';
  }
  return undefined;
}

function vector(request: Json): number[] {
  const text = textsOf((request.content as Json).parts).join(' ');
  const size = typeof request.outputDimensionality === 'number' ? request.outputDimensionality : 4;
  return embeddingOf(text, size);
}

/** The vector the mock gives a text: exported so tests can compute the expected numbers. */
export function embeddingOf(text: string, size: number): number[] {
  let sum = 0;
  for (const char of text) sum += char.codePointAt(0) ?? 0;
  return Array.from({ length: size }, (_, i) => ((sum * (i + 1)) % 1000) / 1000);
}

/** Vertex AI's text embeddings API: `{instances:[{content}]}` → `{predictions:[{embeddings:{values,statistics}}]}`. */
function predict(res: ServerResponse, body: Json): void {
  if (!Array.isArray(body.instances) || body.instances.length === 0) {
    return sendError(res, 400, 'Invalid JSON payload received. instances is required.');
  }
  const parameters = isJson(body.parameters) ? body.parameters : {};
  const size = typeof parameters.outputDimensionality === 'number' ? parameters.outputDimensionality : 4;
  const predictions: Json[] = [];
  for (const instance of body.instances as unknown[]) {
    if (!isJson(instance) || typeof instance.content !== 'string') {
      return sendError(res, 400, 'Invalid JSON payload received. Each instance needs a string content.');
    }
    predictions.push({
      embeddings: {
        statistics: { truncated: false, token_count: words(instance.content) },
        values: embeddingOf(instance.content, size),
      },
    });
  }
  send(res, 200, { predictions, metadata: { billableCharacterCount: 0 } });
}

function textsOf(parts: unknown): string[] {
  if (!Array.isArray(parts)) return [];
  return parts.flatMap((part: unknown) => {
    if (!isJson(part)) return [];
    if (typeof part.text === 'string') return [part.text];
    if (isJson(part.functionResponse)) return [JSON.stringify(part.functionResponse.response)];
    return [];
  });
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function sendError(res: ServerResponse, status: number, message: string, details?: Json[]): void {
  send(res, status, {
    error: {
      code: status,
      message,
      status: STATUS_NAME[status] ?? 'UNKNOWN',
      ...(details ? { details } : {}),
    },
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    vary: 'Origin, X-Origin, Referer',
  });
  res.end(JSON.stringify(body));
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
      if (size > 20 * 1024 * 1024) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
