import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
  ToolCall,
} from 'src/modules/providers/provider-adapter';
import { boundedNumber, fail, isObject, Json, outOfRange } from 'src/modules/pipeline/inbound/decode';

/*
 * OpenAI Responses request → canonical (Chat Completions) request: `input` (a string or a list of
 * items), `instructions`, flat function tools, `tool_choice`, sampling, `max_output_tokens` and
 * `text.format`. Hosted tools (web search, file search, …) have no chat equivalent and are refused.
 */

function stringField(item: Json, key: string, where: string): string {
  const value = item[key];
  if (typeof value !== 'string') fail(`${where}.${key}: Input should be a valid string`, `${where}.${key}`);
  return value;
}

/** A message item's content: a string, or input_text / input_image / output_text parts. */
function content(value: unknown, where: string): string | ContentPart[] {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) fail(`${where}: Input should be a string or a list of content parts`, where);
  const parts = value.map((part, i): ContentPart => {
    const at = `${where}.${i}`;
    if (!isObject(part)) fail(`${at}: Input should be an object`, at);
    if (part.type === 'input_text' || part.type === 'output_text')
      return { type: 'text', text: stringField(part, 'text', at) };
    if (part.type === 'input_image') {
      const url = part.image_url;
      if (typeof url !== 'string' || url === '')
        fail(`${at}.image_url: an image URL or data URL is required`, `${at}.image_url`);
      const detail = part.detail;
      return {
        type: 'image_url',
        image_url: typeof detail === 'string' ? { url, detail } : { url },
      };
    }
    fail(`${at}.type: unsupported content part type '${String(part.type)}'`, `${at}.type`);
  });
  if (parts.every((p) => p.type === 'text')) return parts.map((p) => (p as { text: string }).text).join('');
  return parts;
}

/** The input items as canonical messages; consecutive function_call items join one assistant turn. */
export function inputMessages(input: unknown): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) fail('input: Input should be a string or a list of input items', 'input');
  const out: ChatMessage[] = [];
  input.forEach((item, i) => {
    const where = `input.${i}`;
    if (!isObject(item)) fail(`${where}: Input should be an object`, where);
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer')
        fail(`${where}.role: Input should be 'user', 'assistant', 'system' or 'developer'`, `${where}.role`);
      out.push({ role, content: content(item.content, `${where}.content`) });
    } else if (type === 'function_call') {
      const call: ToolCall = {
        id: stringField(item, 'call_id', where),
        type: 'function',
        function: {
          name: stringField(item, 'name', where),
          arguments: stringField(item, 'arguments', where),
        },
      };
      const last = out.at(-1);
      if (last?.role === 'assistant' && last.tool_calls && !last.content) last.tool_calls.push(call);
      else out.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      const output = item.output;
      const text =
        typeof output === 'string'
          ? output
          : Array.isArray(output)
            ? content(output, `${where}.output`)
            : null;
      if (text === null) fail(`${where}.output: Input should be a valid string`, `${where}.output`);
      out.push({
        role: 'tool',
        tool_call_id: stringField(item, 'call_id', where),
        content: typeof text === 'string' ? text : JSON.stringify(text),
      });
    } else {
      fail(`${where}.type: unsupported input item type ${JSON.stringify(type)}`, `${where}.type`);
    }
  });
  return out;
}

function tools(value: unknown): ChatRequest['tools'] {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) fail('tools: Input should be a list', 'tools');
  return value.map((tool, i) => {
    const where = `tools.${i}`;
    if (!isObject(tool) || tool.type !== 'function')
      fail(`${where}.type: only function tools are supported`, `${where}.type`);
    const fn: { name: string; description?: string; parameters?: JsonObject; strict?: boolean } = {
      name: stringField(tool, 'name', where),
    };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (isObject(tool.parameters)) fn.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function toolChoice(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  if (isObject(value) && value.type === 'function' && typeof value.name === 'string')
    return { type: 'function', function: { name: value.name } };
  fail("tool_choice: Input should be 'auto', 'none', 'required' or a function", 'tool_choice');
}

function number(body: Json, key: string, min: number, max: number): number | undefined {
  return boundedNumber(body, key, min, max, outOfRange);
}

function responseFormat(text: unknown): JsonObject | undefined {
  if (text === undefined || text === null) return undefined;
  if (!isObject(text)) fail('text: Input should be an object', 'text');
  const format = text.format;
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) fail('text.format: Input should be an object', 'text.format');
  if (format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    if (!isObject(format.schema)) fail('text.format.schema: Field required', 'text.format.schema');
    const schema: JsonObject = {
      name: typeof format.name === 'string' ? format.name : 'response',
      schema: format.schema,
    };
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    if (typeof format.description === 'string') schema.description = format.description;
    return { type: 'json_schema', json_schema: schema };
  }
  fail("text.format.type: Input should be 'text', 'json_object' or 'json_schema'", 'text.format.type');
}

/**
 * The fields of a stored conversation, which never reach the upstream: `store`, `previous_response_id`
 * (continued by the stored-responses stage) and `metadata` (OpenAI's limits: 16 pairs of strings, keys
 * up to 64 and values up to 512 characters).
 */
function checkStateFields(body: Json): void {
  if (body.store !== undefined && body.store !== null && typeof body.store !== 'boolean')
    fail('store: Input should be a valid boolean', 'store');
  const previous = body.previous_response_id;
  if (previous !== undefined && previous !== null && (typeof previous !== 'string' || previous === ''))
    fail('previous_response_id: Input should be a non-empty string', 'previous_response_id');
  // Stateful features this gateway does not keep: refused rather than silently ignored.
  if (body.conversation !== undefined && body.conversation !== null)
    fail('conversation is not supported: chain turns with previous_response_id.', 'conversation');
  if (body.background === true) fail('background responses are not supported.', 'background');
  const metadata = body.metadata;
  if (metadata === undefined || metadata === null) return;
  if (!isObject(metadata)) fail('metadata: Input should be an object', 'metadata');
  const entries = Object.entries(metadata);
  if (entries.length > 16) fail('metadata: at most 16 key-value pairs', 'metadata');
  for (const [key, value] of entries) {
    if (key.length > 64) fail('metadata: keys are at most 64 characters', 'metadata');
    if (typeof value !== 'string' || value.length > 512)
      fail(`metadata.${key}: Input should be a string of at most 512 characters`, `metadata.${key}`);
  }
}

/** The canonical chat request for a Responses body, after `history` (a previous response's turns). */
export function decodeResponsesRequest(body: unknown, history: ChatMessage[] = []): ChatRequest {
  if (!isObject(body)) fail('Request body must be a JSON object', '');
  const request: ChatRequest = { messages: [] };
  if (body.model !== undefined) request.model = body.model as string;
  const instructions = body.instructions;
  if (instructions !== undefined && instructions !== null) {
    if (typeof instructions !== 'string')
      fail('instructions: Input should be a valid string', 'instructions');
    if (instructions !== '') request.messages.push({ role: 'system', content: instructions });
  }
  if (body.input === undefined || body.input === null) fail("Missing required parameter: 'input'.", 'input');
  request.messages.push(...history, ...inputMessages(body.input));
  if (request.messages.length === 0) fail('input: at least one input item is required', 'input');
  const declared = tools(body.tools);
  if (declared && declared.length > 0) request.tools = declared;
  const choice = toolChoice(body.tool_choice);
  if (choice !== undefined) request.tool_choice = choice;
  if (typeof body.parallel_tool_calls === 'boolean') request.parallel_tool_calls = body.parallel_tool_calls;
  const temperature = number(body, 'temperature', 0, 2);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = number(body, 'top_p', 0, 1);
  if (topP !== undefined) request.top_p = topP;
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1)
      fail('max_output_tokens: Input should be a positive integer', 'max_output_tokens');
    request.max_tokens = max;
  }
  const format = responseFormat(body.text);
  if (format) request.response_format = format;
  if (typeof body.user === 'string') request.user = body.user;
  checkStateFields(body);
  if (body.stream !== undefined && body.stream !== null) {
    if (typeof body.stream !== 'boolean') fail('stream: Input should be a valid boolean', 'stream');
    if (body.stream) {
      request.stream = true;
      request.stream_options = { include_usage: true };
    }
  }
  return request;
}
