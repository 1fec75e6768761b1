import {
  AdapterRequestError,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ContentPart,
  ToolCall,
  UpstreamProtocolError,
  Usage,
} from 'src/modules/providers/provider-adapter';
import {
  CohereChatBody,
  CohereContent,
  CohereMessage,
  CohereToolCall,
  CohereUsage,
  isRecord,
} from 'src/modules/providers/adapters/cohere/cohere.types';
import { toFinishReason } from 'src/modules/providers/adapters/cohere/finish-reasons';

/** Cohere-only request keys a client may send through the OpenAI surface; anything else unknown is dropped. */
const COHERE_PASSTHROUGH = [
  'documents',
  'citation_options',
  'safety_mode',
  'strict_tools',
  'k',
  'p',
  'seed',
  'frequency_penalty',
  'presence_penalty',
  'thinking',
  'priority',
] as const;

/** OpenAI Chat Completions request → Cohere v2 `POST /v2/chat` body. */
export function toCohereChatBody(request: ChatRequest, model: string, stream: boolean): CohereChatBody {
  const n = request.n ?? 1;
  if (n !== 1) {
    // MLflow's wording and status for the same refusal.
    throw new AdapterRequestError(`Parameter n must be 1 for Cohere chat, got ${String(n)}.`, 422, 'n');
  }
  const body: CohereChatBody = { model, messages: request.messages.map(toCohereMessage), stream };
  for (const key of COHERE_PASSTHROUGH) {
    if (request[key] !== undefined && request[key] !== null) body[key] = request[key];
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) body.max_tokens = maxTokens;
  if (typeof request.temperature === 'number') {
    // Cohere's v2 temperature range is 0–1, the OpenAI surface's is 0–2.
    body.temperature = request.temperature / 2;
  }
  if (typeof request.top_p === 'number') body.p = request.top_p;
  if (typeof request.top_k === 'number') body.k = request.top_k;
  if (request.stop !== undefined && request.stop !== null) {
    body.stop_sequences = Array.isArray(request.stop) ? request.stop : [request.stop];
  }
  const responseFormat = toResponseFormat(request.response_format);
  if (responseFormat !== undefined) body.response_format = responseFormat;
  applyTools(request, body);
  return body;
}

function applyTools(request: ChatRequest, body: CohereChatBody): void {
  let tools = request.tools;
  const choice = request.tool_choice;
  if (choice === 'none') {
    if (tools && tools.length > 0) body.tool_choice = 'NONE';
  } else if (choice === 'required') {
    body.tool_choice = 'REQUIRED';
  } else if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    // Cohere cannot force one named tool; offering only that tool and requiring a call is equivalent.
    const name = choice.function.name;
    tools = (tools ?? []).filter((tool) => tool.function.name === name);
    if (tools.length === 0) {
      throw new AdapterRequestError(
        `tool_choice names '${name}', which is not in tools.`,
        400,
        'tool_choice',
      );
    }
    body.tool_choice = 'REQUIRED';
  }
  if (tools && tools.length > 0) {
    body.tools = tools.map((tool) => {
      if (tool.type !== 'function') {
        throw new AdapterRequestError(
          `Cohere supports only function tools, got '${tool.type}'.`,
          400,
          'tools',
        );
      }
      const fn: Record<string, unknown> = { name: tool.function.name };
      if (tool.function.description !== undefined) fn.description = tool.function.description;
      if (tool.function.parameters !== undefined) fn.parameters = tool.function.parameters;
      return { type: 'function', function: fn };
    });
  }
}

function toResponseFormat(format: unknown): Record<string, unknown> | undefined {
  if (!isRecord(format) || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const schema = isRecord(format.json_schema) ? format.json_schema.schema : undefined;
    return schema === undefined ? { type: 'json_object' } : { type: 'json_object', json_schema: schema };
  }
  throw new AdapterRequestError(
    `response_format type '${String(format.type)}' is not supported by Cohere.`,
    400,
    'response_format',
  );
}

function toCohereMessage(message: ChatMessage, index: number): CohereMessage {
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textContent(message.content, index) };
    case 'user':
      return { role: 'user', content: userContent(message.content, index) };
    case 'assistant': {
      const calls = message.tool_calls ?? [];
      const text =
        message.content === null || message.content === undefined ? '' : textContent(message.content, index);
      if (calls.length === 0) return { role: 'assistant', content: text };
      const out: CohereMessage = { role: 'assistant', tool_calls: calls.map(toCohereToolCall) };
      // Cohere carries an assistant's words before its tool calls as the tool plan.
      if (typeof text === 'string' && text !== '') out.tool_plan = text;
      return out;
    }
    case 'tool':
      if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
        throw new AdapterRequestError(
          `messages[${index}]: a tool message needs tool_call_id.`,
          400,
          'messages',
        );
      }
      return { role: 'tool', tool_call_id: message.tool_call_id, content: flatText(message.content, index) };
    default:
      throw new AdapterRequestError(
        `messages[${index}]: role '${message.role}' is not supported by Cohere.`,
        400,
        'messages',
      );
  }
}

function toCohereToolCall(call: ToolCall): CohereToolCall {
  return {
    id: call.id,
    type: 'function',
    function: { name: call.function.name, arguments: call.function.arguments },
  };
}

function textContent(content: ChatMessage['content'], index: number): CohereContent {
  return flatText(content, index);
}

function flatText(content: ChatMessage['content'], index: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return content
    .map((part) => {
      if (part.type !== 'text' || typeof part.text !== 'string') {
        throw new AdapterRequestError(
          `messages[${index}]: only text content is supported in this message for Cohere.`,
          400,
          'messages',
        );
      }
      return part.text;
    })
    .join('');
}

function userContent(content: ChatMessage['content'], index: number): CohereContent {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return content.map((part: ContentPart) => {
    if (part.type === 'text' && typeof part.text === 'string')
      return { type: 'text' as const, text: part.text };
    if (part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string') {
      return { type: 'image_url' as const, image_url: { url: part.image_url.url } };
    }
    throw new AdapterRequestError(
      `messages[${index}]: content part '${part.type}' is not supported by Cohere.`,
      400,
      'messages',
    );
  });
}

/** Billed units are what Cohere charges for; raw token counts stand in when a deployment omits them. */
export function toUsage(usage: unknown): Usage | null {
  if (!isRecord(usage)) return null;
  const { billed_units: billed, tokens } = usage as CohereUsage;
  const pick = (key: 'input_tokens' | 'output_tokens'): number | null => {
    const value = billed?.[key] ?? tokens?.[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
  };
  const prompt = pick('input_tokens');
  const completion = pick('output_tokens');
  if (prompt === null && completion === null) return null;
  return {
    prompt_tokens: prompt ?? 0,
    completion_tokens: completion ?? 0,
    total_tokens: (prompt ?? 0) + (completion ?? 0),
  };
}

export function toToolCalls(calls: unknown): ToolCall[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  return calls.map((call) => {
    if (!isRecord(call) || typeof call.id !== 'string' || !isRecord(call.function)) {
      throw new UpstreamProtocolError('Cohere returned a malformed tool call');
    }
    const fn = call.function;
    if (typeof fn.name !== 'string')
      throw new UpstreamProtocolError('Cohere returned a tool call without a name');
    return {
      id: call.id,
      type: 'function' as const,
      function: { name: fn.name, arguments: typeof fn.arguments === 'string' ? fn.arguments : '{}' },
    };
  });
}

/** Cohere v2 chat response → OpenAI chat completion. Thinking content and citations are not translated. */
export function toChatCompletion(body: unknown, model: string): ChatCompletion {
  if (!isRecord(body) || typeof body.id !== 'string' || !isRecord(body.message)) {
    throw new UpstreamProtocolError('Cohere returned a chat response without id or message');
  }
  const message = body.message;
  const texts = Array.isArray(message.content)
    ? message.content
        .filter(
          (part): part is { type: 'text'; text: string } =>
            isRecord(part) && part.type === 'text' && typeof part.text === 'string',
        )
        .map((part) => part.text)
    : [];
  const toolCalls = toToolCalls(message.tool_calls);
  const out: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls) out.tool_calls = toolCalls;
  return {
    id: body.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: out, finish_reason: toFinishReason(body.finish_reason) }],
    usage: toUsage(body.usage),
  };
}
