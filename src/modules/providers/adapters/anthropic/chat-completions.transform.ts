import {
  AdapterRequestError,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ToolCall,
  UpstreamProtocolError,
  Usage,
} from 'src/modules/providers/provider-adapter';
import {
  AnthropicImageBlock,
  AnthropicMessage,
  AnthropicMessageParam,
  AnthropicMessagesBody,
  AnthropicRequestBlock,
  AnthropicTextBlock,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
  AnthropicUsage,
  isRecord,
} from 'src/modules/providers/adapters/anthropic/anthropic-messages.types';
import { toFinishReason } from 'src/modules/providers/adapters/anthropic/finish-reasons';

/** MLflow's `MLFLOW_AI_GATEWAY_ANTHROPIC_DEFAULT_MAX_TOKENS` for chat: Anthropic requires `max_tokens`. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 8192;

const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
/** OpenAI's `service_tier` values (`default`, `flex`, ...) mean nothing to Anthropic; only these are forwarded. */
const ANTHROPIC_SERVICE_TIERS = new Set(['auto', 'standard_only']);

// ---------------------------------------------------------------------------------------------
// Request: OpenAI Chat Completions → Anthropic Messages
// ---------------------------------------------------------------------------------------------

/**
 * Builds the Messages body. Only parameters Anthropic understands are copied; OpenAI-only keys
 * (`presence_penalty`, `response_format`, `seed`, `logprobs`, `stream_options`, ...) are dropped.
 */
export function toAnthropicChatBody(
  request: ChatRequest,
  model: string,
  stream: boolean,
): AnthropicMessagesBody {
  const n = optionalNumber(request, 'n');
  if (n !== undefined && n !== 1) {
    throw new AdapterRequestError(
      `'n' must be '1' for the Anthropic provider. Received value: '${n}'.`,
      422,
      'n',
    );
  }
  const temperature = optionalNumber(request, 'temperature');
  const topP = optionalNumber(request, 'top_p');
  if (temperature !== undefined && topP !== undefined) {
    // MLflow rejects the pair; current Claude models refuse it upstream as well.
    throw new AdapterRequestError("Cannot set both 'temperature' and 'top_p' parameters.", 422, 'top_p');
  }
  if (!Array.isArray(request.messages)) {
    throw new AdapterRequestError('messages must be an array', 400, 'messages');
  }

  const { system, messages } = convertMessages(request.messages);
  const body: AnthropicMessagesBody = {
    model,
    messages,
    max_tokens:
      optionalNumber(request, 'max_tokens') ??
      optionalNumber(request, 'max_completion_tokens') ??
      ANTHROPIC_DEFAULT_MAX_TOKENS,
  };
  if (system !== undefined) body.system = system;

  const stop = convertStop(request.stop);
  if (stop !== undefined) body.stop_sequences = stop;
  // OpenAI's temperature range is 0–2, Anthropic's 0–1; MLflow halves it.
  if (temperature !== undefined) body.temperature = temperature / 2;
  if (topP !== undefined) body.top_p = topP;
  const topK = optionalNumber(request, 'top_k');
  if (topK !== undefined) body.top_k = topK;

  const tools = convertTools(request.tools);
  if (tools !== undefined) body.tools = tools;
  const toolChoice = convertToolChoice(request.tool_choice, request.parallel_tool_calls, tools !== undefined);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;

  const userId = userIdOf(request);
  if (userId !== undefined) body.metadata = { user_id: userId };
  if (isRecord(request.thinking)) body.thinking = request.thinking;
  if (typeof request.service_tier === 'string' && ANTHROPIC_SERVICE_TIERS.has(request.service_tier)) {
    body.service_tier = request.service_tier;
  }
  if (stream) body.stream = true;
  return body;
}

export function optionalNumber(source: Record<string, unknown>, key: string): number | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new AdapterRequestError(`${key} must be a number`, 400, key);
  }
  return value;
}

export function convertStop(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.every((s): s is string => typeof s === 'string')) {
    return stop.length > 0 ? stop : undefined;
  }
  throw new AdapterRequestError('stop must be a string or an array of strings', 400, 'stop');
}

/**
 * Anthropic's `metadata` accepts only `user_id` (other keys are a 400 there, and OpenAI's own
 * `metadata` is a free-form tag map), so only that key is kept; OpenAI's `user` fills it otherwise.
 */
export function userIdOf(request: Record<string, unknown>): string | undefined {
  if (isRecord(request.metadata) && typeof request.metadata.user_id === 'string')
    return request.metadata.user_id;
  if (typeof request.user === 'string' && request.user !== '') return request.user;
  return undefined;
}

function convertMessages(input: ChatMessage[]): { system?: string; messages: AnthropicMessageParam[] } {
  const systemParts: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  input.forEach((message, i) => {
    if (!isRecord(message))
      throw new AdapterRequestError('each message must be an object', 400, `messages[${i}]`);
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = systemText(message.content, i);
        if (text !== '') systemParts.push(text);
        break;
      }
      case 'user':
        pushMerged(messages, { role: 'user', content: userContent(message.content, i) });
        break;
      case 'assistant': {
        const converted = assistantMessage(message, i);
        if (converted !== undefined) pushMerged(messages, converted);
        break;
      }
      case 'tool':
        pushMerged(messages, { role: 'user', content: [toolResult(message, i)] });
        break;
      default:
        throw new AdapterRequestError(
          `Message role '${String(message.role)}' is not supported by the Anthropic provider.`,
          400,
          `messages[${i}].role`,
        );
    }
  });
  for (const message of messages) {
    // Anthropic wants tool_result blocks before any other block of the same user turn.
    if (message.role === 'user' && Array.isArray(message.content)) {
      message.content = [
        ...message.content.filter((b) => b.type === 'tool_result'),
        ...message.content.filter((b) => b.type !== 'tool_result'),
      ];
    }
  }
  return { system: systemParts.length > 0 ? systemParts.join('\n') : undefined, messages };
}

/** Anthropic requires user and assistant turns to alternate, so neighbours with one role are merged. */
function pushMerged(messages: AnthropicMessageParam[], next: AnthropicMessageParam): void {
  const last = messages.at(-1);
  if (last === undefined || last.role !== next.role) {
    messages.push(next);
    return;
  }
  last.content = [...asBlocks(last.content), ...asBlocks(next.content)];
}

function asBlocks(content: string | AnthropicRequestBlock[]): AnthropicRequestBlock[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function systemText(content: ChatMessage['content'], i: number): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) {
    throw new AdapterRequestError(
      'message content must be a string or an array',
      400,
      `messages[${i}].content`,
    );
  }
  return content.map((part, j) => textPart(part, `messages[${i}].content[${j}]`).text).join('\n');
}

function userContent(content: ChatMessage['content'], i: number): string | AnthropicRequestBlock[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) {
    throw new AdapterRequestError(
      'user message content must be a string or an array of content parts',
      400,
      `messages[${i}].content`,
    );
  }
  return content.map((part, j) => contentPart(part, `messages[${i}].content[${j}]`));
}

function contentPart(part: unknown, param: string): AnthropicTextBlock | AnthropicImageBlock {
  if (isRecord(part) && part.type === 'image_url') return imagePart(part, param);
  return textPart(part, param);
}

function textPart(part: unknown, param: string): AnthropicTextBlock {
  if (!isRecord(part) || typeof part.type !== 'string') {
    throw new AdapterRequestError('content parts must be objects with a type', 400, param);
  }
  if (part.type !== 'text') {
    throw new AdapterRequestError(
      `Content part type '${part.type}' is not supported by the Anthropic provider here.`,
      400,
      param,
    );
  }
  if (typeof part.text !== 'string')
    throw new AdapterRequestError('text parts need a string text', 400, param);
  const block: AnthropicTextBlock = { type: 'text', text: part.text };
  // Prompt-caching hints written Anthropic-style on OpenAI parts are kept; they cost nothing to forward.
  if (isRecord(part.cache_control) && typeof part.cache_control.type === 'string') {
    block.cache_control = { ...part.cache_control, type: part.cache_control.type };
  }
  return block;
}

function imagePart(part: Record<string, unknown>, param: string): AnthropicImageBlock {
  const imageUrl = part.image_url;
  const url = isRecord(imageUrl) ? imageUrl.url : undefined;
  if (typeof url !== 'string') {
    throw new AdapterRequestError('image_url parts need image_url.url', 400, `${param}.image_url.url`);
  }
  if (url.startsWith('data:')) {
    const match = /^data:([^;,]+);base64,(.+)$/s.exec(url);
    if (match === null) {
      throw new AdapterRequestError(
        'image data URLs must have the form data:<media type>;base64,<data>',
        400,
        `${param}.image_url.url`,
      );
    }
    const mediaType = match[1].toLowerCase();
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw new AdapterRequestError(
        `Image media type '${mediaType}' is not supported by Anthropic (jpeg, png, gif, webp).`,
        400,
        `${param}.image_url.url`,
      );
    }
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: match[2] } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new AdapterRequestError(
    'image_url.url must be an http(s) or data: URL',
    400,
    `${param}.image_url.url`,
  );
}

function assistantMessage(message: ChatMessage, i: number): AnthropicMessageParam | undefined {
  const toolCalls = message.tool_calls;
  const hasToolCalls = Array.isArray(toolCalls) && toolCalls.length > 0;
  const content = message.content;
  if (typeof content === 'string' && !hasToolCalls) {
    // Anthropic rejects empty text content; an empty assistant turn carries nothing.
    return content === '' ? undefined : { role: 'assistant', content };
  }
  const blocks: AnthropicRequestBlock[] = [];
  if (typeof content === 'string') {
    if (content !== '') blocks.push({ type: 'text', text: content });
  } else if (Array.isArray(content)) {
    content.forEach((part, j) => {
      const param = `messages[${i}].content[${j}]`;
      // An assistant `refusal` part is output metadata, not something to replay to the model.
      if (isRecord(part) && part.type === 'refusal') return;
      const block = textPart(part, param);
      if (block.text !== '') blocks.push(block);
    });
  } else if (content !== undefined && content !== null) {
    throw new AdapterRequestError(
      'message content must be a string or an array',
      400,
      `messages[${i}].content`,
    );
  }
  if (hasToolCalls)
    toolCalls.forEach((call, j) => blocks.push(toolUse(call, `messages[${i}].tool_calls[${j}]`)));
  return blocks.length > 0 ? { role: 'assistant', content: blocks } : undefined;
}

function toolUse(call: unknown, param: string): AnthropicToolUseBlock {
  if (!isRecord(call) || typeof call.id !== 'string' || !isRecord(call.function)) {
    throw new AdapterRequestError('tool calls need an id and a function', 400, param);
  }
  const { name, arguments: args } = call.function;
  if (typeof name !== 'string') throw new AdapterRequestError('tool calls need function.name', 400, param);
  return { type: 'tool_use', id: call.id, name, input: parseArguments(args, `${param}.function.arguments`) };
}

function parseArguments(args: unknown, param: string): Record<string, unknown> {
  if (args === undefined || args === null || (typeof args === 'string' && args.trim() === '')) return {};
  if (typeof args !== 'string')
    throw new AdapterRequestError('function.arguments must be a JSON string', 400, param);
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new AdapterRequestError('function.arguments is not valid JSON', 400, param);
  }
  if (!isRecord(parsed)) {
    throw new AdapterRequestError('function.arguments must encode a JSON object for Anthropic', 400, param);
  }
  return parsed;
}

function toolResult(message: ChatMessage, i: number): AnthropicToolResultBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    throw new AdapterRequestError('tool messages need a tool_call_id', 400, `messages[${i}].tool_call_id`);
  }
  const block: AnthropicToolResultBlock = { type: 'tool_result', tool_use_id: message.tool_call_id };
  const content = message.content;
  if (typeof content === 'string') block.content = content;
  else if (Array.isArray(content)) {
    block.content = content.map((part, j) => contentPart(part, `messages[${i}].content[${j}]`));
  } else if (content !== undefined && content !== null) {
    throw new AdapterRequestError(
      'message content must be a string or an array',
      400,
      `messages[${i}].content`,
    );
  }
  return block;
}

function convertTools(tools: unknown): AnthropicTool[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw new AdapterRequestError('tools must be an array', 400, 'tools');
  if (tools.length === 0) return undefined;
  return tools.map((tool, i): AnthropicTool => {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) {
      const type = isRecord(tool) ? String(tool.type) : typeof tool;
      throw new AdapterRequestError(
        `Only function calling tool is supported, but received tool type ${type}`,
        422,
        `tools[${i}]`,
      );
    }
    const fn = tool.function;
    if (typeof fn.name !== 'string')
      throw new AdapterRequestError('tools need function.name', 400, `tools[${i}]`);
    const converted: AnthropicTool = {
      name: fn.name,
      input_schema: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
    if (typeof fn.description === 'string') converted.description = fn.description;
    return converted;
  });
}

function convertToolChoice(
  choice: unknown,
  parallel: unknown,
  hasTools: boolean,
): AnthropicToolChoice | undefined {
  let converted: AnthropicToolChoice | undefined;
  if (choice === undefined || choice === null) converted = undefined;
  else if (choice === 'auto') converted = { type: 'auto' };
  else if (choice === 'required') converted = { type: 'any' };
  else if (choice === 'none') converted = { type: 'none' };
  else if (
    isRecord(choice) &&
    choice.type === 'function' &&
    isRecord(choice.function) &&
    typeof choice.function.name === 'string'
  ) {
    converted = { type: 'tool', name: choice.function.name };
  } else {
    throw new AdapterRequestError(
      "tool_choice must be 'none', 'auto', 'required' or {type:'function',function:{name}}",
      400,
      'tool_choice',
    );
  }
  // OpenAI's `parallel_tool_calls: false` lives on Anthropic's tool_choice (not allowed on `none`).
  if (parallel === false && hasTools && converted?.type !== 'none') {
    converted = { ...(converted ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  return converted;
}

// ---------------------------------------------------------------------------------------------
// Response: Anthropic Message → OpenAI chat.completion
// ---------------------------------------------------------------------------------------------

/** Narrows an upstream 2xx body to a Messages response or throws UpstreamProtocolError. */
export function parseAnthropicMessage(body: unknown): AnthropicMessage {
  const fail = (what: string): never => {
    throw new UpstreamProtocolError(`Anthropic returned an invalid Messages response: ${what}`);
  };
  if (!isRecord(body)) return fail('body is not a JSON object');
  if (body.type !== 'message') return fail("type is not 'message'");
  if (typeof body.id !== 'string') return fail('id is missing');
  if (typeof body.model !== 'string') return fail('model is missing');
  if (!Array.isArray(body.content)) return fail('content is not an array');
  const content = body.content.map((block): AnthropicMessage['content'][number] => {
    if (!isRecord(block) || typeof block.type !== 'string') return fail('a content block has no type');
    if (block.type === 'text' && typeof block.text !== 'string') return fail('a text block has no text');
    if (
      block.type === 'tool_use' &&
      (typeof block.id !== 'string' || typeof block.name !== 'string' || !isRecord(block.input))
    ) {
      return fail('a tool_use block lacks id, name or input');
    }
    // Only the fields we read are kept; other block types (thinking, server tools) pass unread.
    const parsed: AnthropicMessage['content'][number] = { type: block.type };
    if (typeof block.text === 'string') parsed.text = block.text;
    if (block.type === 'tool_use')
      Object.assign(parsed, { id: block.id, name: block.name, input: block.input });
    return parsed;
  });
  const stopReason = body.stop_reason ?? null;
  if (stopReason !== null && typeof stopReason !== 'string') return fail('stop_reason is not a string');
  const usage = parseUsage(body.usage);
  if (usage === undefined) return fail('usage is missing');
  return {
    id: body.id,
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: stopReason,
    usage,
  };
}

export function parseUsage(value: unknown): AnthropicUsage | undefined {
  if (!isRecord(value) || !isCount(value.input_tokens) || !isCount(value.output_tokens)) return undefined;
  return {
    input_tokens: value.input_tokens,
    output_tokens: value.output_tokens,
    cache_creation_input_tokens: isCount(value.cache_creation_input_tokens)
      ? value.cache_creation_input_tokens
      : 0,
    cache_read_input_tokens: isCount(value.cache_read_input_tokens) ? value.cache_read_input_tokens : 0,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * Anthropic reports cache reads and writes apart from `input_tokens`; OpenAI's `prompt_tokens`
 * counts every prompt token, so they are added back. Cache reads also surface as
 * `prompt_tokens_details.cached_tokens`, OpenAI's field for the same thing.
 */
export function toUsage(usage: AnthropicUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const promptTokens = usage.input_tokens + cacheRead + (usage.cache_creation_input_tokens ?? 0);
  const result: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: usage.output_tokens,
    total_tokens: promptTokens + usage.output_tokens,
  };
  if (cacheRead > 0) result.prompt_tokens_details = { cached_tokens: cacheRead };
  return result;
}

/** Concatenated text blocks, or null when the message has none (e.g. a pure tool call). */
export function textOf(message: AnthropicMessage): string | null {
  const texts = message.content.filter((b) => b.type === 'text').map((b) => b.text ?? '');
  return texts.length > 0 ? texts.join('') : null;
}

export function toChatCompletion(message: AnthropicMessage): ChatCompletion {
  const toolCalls: ToolCall[] = message.content
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({
      id: b.id ?? '',
      type: 'function',
      function: { name: b.name ?? '', arguments: JSON.stringify(b.input) },
    }));
  const chatMessage: ChatMessage = { role: 'assistant', content: textOf(message) };
  if (toolCalls.length > 0) chatMessage.tool_calls = toolCalls;
  return {
    id: message.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [
      { index: 0, message: chatMessage, finish_reason: toFinishReason(message.stop_reason) ?? 'stop' },
    ],
    usage: toUsage(message.usage),
  };
}
