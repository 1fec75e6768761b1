import { boundedNumber, fail, isObject, Json, outOfRange } from 'src/modules/pipeline/inbound/decode';
import type { InvocationAnswer } from 'src/modules/pipeline/invocation-context';
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  JsonObject,
} from 'src/modules/providers/provider-adapter';

/*
 * Anthropic Messages request → canonical (OpenAI Chat Completions) request. Only what the Messages API
 * defines is translated; fields a chat provider cannot honour (server tools, documents, thinking
 * budgets) are refused or dropped as noted, so that any configured chat endpoint can serve the call.
 */

function text(block: Json, where: string): string {
  if (typeof block.text !== 'string') fail(`${where}.text: Input should be a valid string`, `${where}.text`);
  return block.text;
}

/** `system`: a string or a list of text blocks. */
function systemText(system: unknown): string | undefined {
  if (system === undefined || system === null) return undefined;
  if (typeof system === 'string') return system;
  if (!Array.isArray(system))
    fail('system: Input should be a valid string or a list of text blocks', 'system');
  return system
    .map((block, i) => {
      if (!isObject(block) || block.type !== 'text')
        fail(`system.${i}: Input should be a text block`, `system.${i}`);
      return text(block, `system.${i}`);
    })
    .join('\n');
}

function imagePart(block: Json, where: string): ContentPart {
  const source = block.source;
  if (isObject(source) && source.type === 'base64') {
    if (typeof source.media_type !== 'string' || typeof source.data !== 'string')
      fail(`${where}.source: base64 images need media_type and data`, `${where}.source`);
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  }
  if (isObject(source) && source.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  fail(`${where}.source: Input should be a base64 or url image source`, `${where}.source`);
}

/** A tool_result's content as text: a string, or its text blocks (images cannot go into a tool message). */
function toolResultText(block: Json, where: string): string {
  const content = block.content;
  let out: string;
  if (content === undefined || content === null) out = '';
  else if (typeof content === 'string') out = content;
  else if (Array.isArray(content)) {
    out = content
      .map((part, i) => {
        if (!isObject(part) || part.type !== 'text')
          fail(`${where}.content.${i}: only text blocks are supported in a tool_result`, `${where}.content`);
        return text(part, `${where}.content.${i}`);
      })
      .join('\n');
  } else fail(`${where}.content: Input should be a valid string or a list of blocks`, `${where}.content`);
  return block.is_error === true ? `Error: ${out}` : out;
}

/** One Anthropic message → one or more canonical messages (tool results become `tool` messages first). */
function messages(message: unknown, index: number): ChatMessage[] {
  const where = `messages.${index}`;
  if (!isObject(message)) fail(`${where}: Input should be an object`, where);
  const role = message.role;
  if (role !== 'user' && role !== 'assistant')
    fail(`${where}.role: Input should be 'user' or 'assistant'`, `${where}.role`);
  const content = message.content;
  if (typeof content === 'string') return [{ role, content }];
  if (!Array.isArray(content))
    fail(`${where}.content: Input should be a valid string or a list of blocks`, `${where}.content`);
  const parts: ContentPart[] = [];
  const toolCalls: NonNullable<ChatMessage['tool_calls']> = [];
  const results: ChatMessage[] = [];
  content.forEach((block, i) => {
    const at = `${where}.content.${i}`;
    if (!isObject(block) || typeof block.type !== 'string')
      fail(`${at}: Input should be a content block`, at);
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: text(block, at) });
        return;
      case 'image':
        if (role !== 'user') fail(`${at}: image blocks are only allowed in user messages`, at);
        parts.push(imagePart(block, at));
        return;
      case 'tool_use':
        if (role !== 'assistant') fail(`${at}: tool_use blocks are only allowed in assistant messages`, at);
        if (typeof block.id !== 'string' || typeof block.name !== 'string')
          fail(`${at}: tool_use blocks need an id and a name`, at);
        toolCalls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        });
        return;
      case 'tool_result':
        if (role !== 'user') fail(`${at}: tool_result blocks are only allowed in user messages`, at);
        if (typeof block.tool_use_id !== 'string')
          fail(`${at}.tool_use_id: Field required`, `${at}.tool_use_id`);
        results.push({ role: 'tool', tool_call_id: block.tool_use_id, content: toolResultText(block, at) });
        return;
      case 'thinking':
      case 'redacted_thinking':
        // Earlier turns' reasoning is the serving model's own business; other models cannot read it.
        return;
      default:
        fail(`${at}.type: content blocks of type '${block.type}' are not supported by this gateway`, at);
    }
  });
  const out: ChatMessage[] = [...results];
  const onlyText = parts.every((p) => p.type === 'text');
  const body: ChatMessage['content'] =
    parts.length === 0 ? null : onlyText ? parts.map((p) => (p as { text: string }).text).join('\n') : parts;
  if (role === 'assistant') {
    if (body !== null || toolCalls.length > 0)
      out.push({ role, content: body, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
  } else if (body !== null) {
    out.push({ role, content: body });
  }
  return out;
}

function tools(value: unknown): ChatRequest['tools'] {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) fail('tools: Input should be a valid list', 'tools');
  return value.map((tool, i) => {
    const where = `tools.${i}`;
    if (!isObject(tool)) fail(`${where}: Input should be an object`, where);
    if (tool.type !== undefined && tool.type !== 'custom') {
      fail(
        `${where}.type: server tools (${JSON.stringify(tool.type)}) are not supported by this gateway; declare a custom tool with an input_schema`,
        `${where}.type`,
      );
    }
    if (typeof tool.name !== 'string' || tool.name === '')
      fail(`${where}.name: Field required`, `${where}.name`);
    if (!isObject(tool.input_schema)) fail(`${where}.input_schema: Field required`, `${where}.input_schema`);
    return {
      type: 'function',
      function: {
        name: tool.name,
        ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
        parameters: tool.input_schema,
      },
    };
  });
}

function toolChoice(value: unknown): { tool_choice?: unknown; parallel_tool_calls?: boolean } {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) fail('tool_choice: Input should be an object', 'tool_choice');
  const parallel = value.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (value.type) {
    case 'auto':
      return { tool_choice: 'auto', ...parallel };
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'none':
      return { tool_choice: 'none' };
    case 'tool':
      if (typeof value.name !== 'string') fail('tool_choice.name: Field required', 'tool_choice.name');
      return { tool_choice: { type: 'function', function: { name: value.name } }, ...parallel };
    default:
      fail("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", 'tool_choice.type');
  }
}

/** `output_config.format` (structured outputs) → `response_format`; `effort` has no portable equivalent. */
function outputFormat(value: unknown): { response_format?: JsonObject } {
  if (!isObject(value) || value.format === undefined || value.format === null) return {};
  const format = value.format;
  if (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema))
    fail(
      "output_config.format: Input should be {type: 'json_schema', schema: {...}}",
      'output_config.format',
    );
  return {
    response_format: {
      type: 'json_schema',
      json_schema: { name: 'output', schema: format.schema, strict: true },
    },
  };
}

function optionalNumber(body: Json, key: string, min: number, max: number): number | undefined {
  return boundedNumber(body, key, min, max, outOfRange);
}

/**
 * The canonical chat request for an Anthropic Messages body. `token-count` bodies (count_tokens) carry no
 * `max_tokens`; every other call must, as on Anthropic's API.
 */
export function decodeAnthropicRequest(body: unknown, answer: InvocationAnswer): JsonObject {
  if (!isObject(body)) fail('Request body must be a JSON object', '');
  const request: ChatRequest = { messages: [] };
  if (body.model !== undefined) request.model = body.model as string;
  const system = systemText(body.system);
  if (!Array.isArray(body.messages)) fail('messages: Field required', 'messages');
  if (body.messages.length === 0) fail('messages: at least one message is required', 'messages');
  if (system !== undefined && system !== '') request.messages.push({ role: 'system', content: system });
  body.messages.forEach((m, i) => request.messages.push(...messages(m, i)));
  if (answer === 'upstream') {
    const max = body.max_tokens;
    if (max === undefined || max === null) fail('max_tokens: Field required', 'max_tokens');
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1)
      fail('max_tokens: Input should be a positive integer', 'max_tokens');
    request.max_tokens = max;
  }
  const temperature = optionalNumber(body, 'temperature', 0, 1);
  // Canonical temperatures are on OpenAI's 0–2 scale, which the Anthropic adapter halves (as MLflow
  // does): doubling here gives an Anthropic endpoint the caller's own value back.
  if (temperature !== undefined) request.temperature = temperature * 2;
  const topP = optionalNumber(body, 'top_p', 0, 1);
  if (topP !== undefined) request.top_p = topP;
  if (body.top_k !== undefined && body.top_k !== null) request.top_k = body.top_k;
  const stop = body.stop_sequences;
  if (stop !== undefined && stop !== null) {
    if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string'))
      fail('stop_sequences: Input should be a list of strings', 'stop_sequences');
    if (stop.length > 0) request.stop = stop as string[];
  }
  const declared = tools(body.tools);
  if (declared && declared.length > 0) request.tools = declared;
  Object.assign(request, toolChoice(body.tool_choice));
  Object.assign(request, outputFormat(body.output_config));
  if (isObject(body.metadata) && typeof body.metadata.user_id === 'string')
    request.user = body.metadata.user_id;
  if (body.stream !== undefined && body.stream !== null) {
    if (typeof body.stream !== 'boolean') fail('stream: Input should be a valid boolean', 'stream');
    if (answer === 'upstream' && body.stream) {
      request.stream = true;
      // The closing message_delta reports usage: every provider is asked for it.
      request.stream_options = { include_usage: true };
    }
  }
  return request;
}
