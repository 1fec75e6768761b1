import { boundedNumber, fail, isObject, Json } from 'src/modules/pipeline/inbound/decode';
import type { InvocationAnswer } from 'src/modules/pipeline/invocation-context';
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
} from 'src/modules/providers/provider-adapter';

/*
 * Gemini generateContent request → canonical (OpenAI Chat Completions) request. What a chat provider can
 * honour is translated; Google-only tools (search grounding, code execution) and multi-candidate answers
 * are refused with a 400, safety settings are accepted and left to the serving provider's own policy.
 */

/** Gemini's schema types are OpenAPI's, often upper-case (`OBJECT`, `STRING`); JSON Schema wants lower. */
export function jsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchema);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' && typeof value === 'string') out.type = value.toLowerCase();
    else if (key === 'properties' && isObject(value))
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSchema(v)]));
    else if (key === 'items' || key === 'anyOf') out[key] = jsonSchema(value);
    else out[key] = value;
  }
  return out;
}

function partsOf(content: unknown, where: string): Json[] {
  if (!isObject(content)) fail(`${where}: Input should be a Content object`, where);
  if (!Array.isArray(content.parts) || content.parts.length === 0)
    fail(`${where}.parts: at least one part is required`, `${where}.parts`);
  return content.parts.map((part, i) => {
    if (!isObject(part)) fail(`${where}.parts[${i}]: Input should be a Part object`, `${where}.parts[${i}]`);
    return part;
  });
}

function systemText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  return partsOf(value, 'system_instruction')
    .map((part, i) => {
      if (typeof part.text !== 'string')
        fail(`system_instruction.parts[${i}]: only text parts are allowed`, 'system_instruction');
      return part.text;
    })
    .join('\n');
}

/** Tool call ids the model's turns gave, waiting for their functionResponse (Gemini pairs them by name). */
class PendingCalls {
  private readonly byName = new Map<string, string[]>();
  private counter = 0;

  add(name: string, id: unknown): string {
    const callId = typeof id === 'string' && id !== '' ? id : `call_${++this.counter}_${name}`;
    const list = this.byName.get(name) ?? [];
    list.push(callId);
    this.byName.set(name, list);
    return callId;
  }

  take(name: string, id: unknown): string {
    const list = this.byName.get(name) ?? [];
    if (typeof id === 'string' && id !== '') {
      const at = list.indexOf(id);
      if (at >= 0) list.splice(at, 1);
      return id;
    }
    return list.shift() ?? `call_${++this.counter}_${name}`;
  }
}

function contentMessages(content: unknown, index: number, calls: PendingCalls): ChatMessage[] {
  const where = `contents[${index}]`;
  const parts = partsOf(content, where);
  const rawRole = (content as Json).role;
  if (rawRole !== undefined && rawRole !== 'user' && rawRole !== 'model' && rawRole !== 'function')
    fail(`${where}.role: Please use a valid role: user, model.`, `${where}.role`);
  const role = rawRole === 'model' ? 'assistant' : 'user';
  const body: ContentPart[] = [];
  const toolCalls: NonNullable<ChatMessage['tool_calls']> = [];
  const results: ChatMessage[] = [];
  parts.forEach((part, i) => {
    const at = `${where}.parts[${i}]`;
    if (part.thought === true) return; // a model's own reasoning summary is not replayed to others
    if (typeof part.text === 'string') {
      body.push({ type: 'text', text: part.text });
    } else if (isObject(part.inlineData)) {
      const data = part.inlineData;
      if (role !== 'user') fail(`${at}.inline_data: only user turns may carry images`, at);
      if (typeof data.mimeType !== 'string' || typeof data.data !== 'string')
        fail(`${at}.inline_data: mime_type and data are required`, at);
      if (!data.mimeType.startsWith('image/'))
        fail(`${at}.inline_data: only image data is supported by this gateway`, at);
      body.push({ type: 'image_url', image_url: { url: `data:${data.mimeType};base64,${data.data}` } });
    } else if (isObject(part.fileData)) {
      const file = part.fileData;
      if (role !== 'user' || typeof file.fileUri !== 'string' || !/^https?:\/\//.test(file.fileUri))
        fail(`${at}.file_data: only http(s) image URIs in user turns are supported by this gateway`, at);
      body.push({ type: 'image_url', image_url: { url: file.fileUri } });
    } else if (isObject(part.functionCall)) {
      const call = part.functionCall;
      if (role !== 'assistant') fail(`${at}.function_call: only model turns may call functions`, at);
      if (typeof call.name !== 'string' || call.name === '')
        fail(`${at}.function_call.name: Field required`, `${at}.function_call.name`);
      toolCalls.push({
        id: calls.add(call.name, call.id),
        type: 'function',
        function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
      });
    } else if (isObject(part.functionResponse)) {
      const response = part.functionResponse;
      if (role !== 'user') fail(`${at}.function_response: only user turns may answer a call`, at);
      if (typeof response.name !== 'string' || response.name === '')
        fail(`${at}.function_response.name: Field required`, `${at}.function_response.name`);
      results.push({
        role: 'tool',
        tool_call_id: calls.take(response.name, response.id),
        content: JSON.stringify(response.response ?? {}),
      });
    } else {
      fail(`${at}: this kind of part is not supported by this gateway`, at);
    }
  });
  const out: ChatMessage[] = [...results];
  const text = body.every((p) => p.type === 'text');
  const joined: ChatMessage['content'] =
    body.length === 0 ? null : text ? body.map((p) => (p as { text: string }).text).join('') : body;
  if (role === 'assistant') {
    if (joined !== null || toolCalls.length > 0)
      out.push({ role, content: joined, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
  } else if (joined !== null) {
    out.push({ role, content: joined });
  }
  return out;
}

function tools(value: unknown): ChatRequest['tools'] {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) fail('tools: Input should be a list', 'tools');
  const out: NonNullable<ChatRequest['tools']> = [];
  value.forEach((tool, i) => {
    const where = `tools[${i}]`;
    if (!isObject(tool)) fail(`${where}: Input should be a Tool object`, where);
    const other = Object.keys(tool).filter((k) => k !== 'functionDeclarations');
    if (other.length > 0)
      fail(
        `${where}: ${other.join(', ')} tools are not supported by this gateway; declare functionDeclarations`,
        where,
      );
    const declarations = tool.functionDeclarations;
    if (!Array.isArray(declarations)) fail(`${where}.function_declarations: Field required`, where);
    declarations.forEach((fn, j) => {
      const at = `${where}.function_declarations[${j}]`;
      if (!isObject(fn) || typeof fn.name !== 'string' || fn.name === '')
        fail(`${at}.name: Field required`, `${at}.name`);
      const parameters = fn.parametersJsonSchema ?? jsonSchema(fn.parameters);
      out.push({
        type: 'function',
        function: {
          name: fn.name,
          ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
          parameters: isObject(parameters) ? parameters : { type: 'object', properties: {} },
        },
      });
    });
  });
  return out;
}

function toolChoice(value: unknown): { tool_choice?: unknown } {
  if (!isObject(value) || !isObject(value.functionCallingConfig)) return {};
  const config = value.functionCallingConfig;
  const allowed = config.allowedFunctionNames;
  switch (config.mode) {
    case undefined:
    case 'MODE_UNSPECIFIED':
    case 'AUTO':
      return { tool_choice: 'auto' };
    case 'NONE':
      return { tool_choice: 'none' };
    case 'ANY':
    case 'VALIDATED':
      if (Array.isArray(allowed) && allowed.length === 1 && typeof allowed[0] === 'string')
        return { tool_choice: { type: 'function', function: { name: allowed[0] } } };
      return { tool_choice: 'required' };
    default:
      fail(
        'tool_config.function_calling_config.mode: Input should be AUTO, ANY, NONE or VALIDATED',
        'tool_config.function_calling_config.mode',
      );
  }
}

function number(config: Json, key: string, min: number, max: number): number | undefined {
  return boundedNumber(
    config,
    key,
    min,
    max,
    (k, lo, hi) => `generation_config.${k}: must be a number between ${lo} and ${hi}`,
    `generationConfig.${key}`,
  );
}

function generation(value: unknown, request: ChatRequest): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) fail('generation_config: Input should be an object', 'generationConfig');
  const candidates = value.candidateCount;
  if (candidates !== undefined && candidates !== null && candidates !== 1)
    fail(
      'generation_config.candidate_count: only 1 candidate is supported by this gateway',
      'candidateCount',
    );
  const temperature = number(value, 'temperature', 0, 2);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = number(value, 'topP', 0, 1);
  if (topP !== undefined) request.top_p = topP;
  const topK = number(value, 'topK', 1, Number.MAX_SAFE_INTEGER);
  if (topK !== undefined) request.top_k = topK;
  const max = value.maxOutputTokens;
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1)
      fail('generation_config.max_output_tokens: must be a positive integer', 'maxOutputTokens');
    request.max_tokens = max;
  }
  const stop = value.stopSequences;
  if (stop !== undefined && stop !== null) {
    if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string'))
      fail('generation_config.stop_sequences: must be a list of strings', 'stopSequences');
    if (stop.length > 0) request.stop = stop as string[];
  }
  const presence = number(value, 'presencePenalty', -2, 2);
  if (presence !== undefined) request.presence_penalty = presence;
  const frequency = number(value, 'frequencyPenalty', -2, 2);
  if (frequency !== undefined) request.frequency_penalty = frequency;
  if (typeof value.seed === 'number') request.seed = value.seed;
  const mime = value.responseMimeType;
  if (mime === 'application/json') {
    const schema = value.responseJsonSchema ?? jsonSchema(value.responseSchema);
    request.response_format = isObject(schema)
      ? { type: 'json_schema', json_schema: { name: 'response', schema } }
      : { type: 'json_object' };
  } else if (mime !== undefined && mime !== null && mime !== 'text/plain') {
    fail(
      "generation_config.response_mime_type: only 'text/plain' and 'application/json' are supported",
      'responseMimeType',
    );
  }
}

/** The canonical chat request for a Gemini generateContent body; `stream` comes from the path. */
export function decodeGeminiRequest(body: unknown, answer: InvocationAnswer, stream: boolean): JsonObject {
  if (!isObject(body)) fail('Request body must be a JSON object', '');
  const request: ChatRequest = { messages: [] };
  const system = systemText(body.systemInstruction ?? body.system_instruction);
  if (system !== undefined && system !== '') request.messages.push({ role: 'system', content: system });
  if (!Array.isArray(body.contents) || body.contents.length === 0)
    fail('contents is not specified', 'contents');
  const calls = new PendingCalls();
  body.contents.forEach((c, i) => request.messages.push(...contentMessages(c, i, calls)));
  const declared = tools(body.tools);
  if (declared && declared.length > 0) request.tools = declared;
  Object.assign(request, toolChoice(body.toolConfig));
  generation(body.generationConfig, request);
  if (stream && answer === 'upstream') {
    request.stream = true;
    // The last chunk carries usageMetadata: every provider is asked for usage.
    request.stream_options = { include_usage: true };
  }
  return request;
}
