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
  ConverseBody,
  ConverseContentBlock,
  ConverseMessage,
  ConverseTool,
  ConverseToolChoice,
  ConverseUsage,
  isRecord,
} from 'src/modules/providers/adapters/bedrock/converse.types';
import { toFinishReason } from 'src/modules/providers/adapters/bedrock/finish-reasons';

const IMAGE_DATA_URL = /^data:image\/(png|jpeg|jpg|gif|webp);base64,([A-Za-z0-9+/=\s]+)$/;

// ---------------------------------------------------------------------------------------------
// Request: OpenAI Chat Completions → Converse
// ---------------------------------------------------------------------------------------------

/**
 * Builds the Converse body (the model id travels in the path). Only what Converse understands is
 * copied: system prompts, turns, tool calls and results, inferenceConfig, toolConfig; OpenAI-only keys
 * (`presence_penalty`, `response_format`, `seed`, ...) are dropped, as MLflow's Converse path does.
 */
export function toConverseBody(request: ChatRequest): ConverseBody {
  const n = optionalNumber(request, 'n');
  if (n !== undefined && n !== 1) {
    throw new AdapterRequestError(
      `'n' must be '1' for the Amazon Bedrock provider. Received value: '${n}'.`,
      422,
      'n',
    );
  }
  if (!Array.isArray(request.messages)) {
    throw new AdapterRequestError('messages must be an array', 400, 'messages');
  }
  const system: { text: string }[] = [];
  const messages: ConverseMessage[] = [];
  request.messages.forEach((message, index) => {
    const role = message.role;
    if (role === 'system' || role === 'developer') {
      const text = textContent(message, index);
      if (text !== '') system.push({ text });
      return;
    }
    const turn = toTurn(message, index);
    const last = messages[messages.length - 1];
    // Converse wants alternating roles: consecutive tool results (or user parts) share one turn.
    if (last !== undefined && last.role === turn.role) last.content.push(...turn.content);
    else messages.push(turn);
  });
  if (messages.length === 0) {
    throw new AdapterRequestError(
      'At least one user or assistant message is required for Amazon Bedrock.',
      400,
      'messages',
    );
  }

  const body: ConverseBody = { messages };
  if (system.length > 0) body.system = system;
  const inference: NonNullable<ConverseBody['inferenceConfig']> = {};
  const maxTokens = optionalNumber(request, 'max_tokens') ?? optionalNumber(request, 'max_completion_tokens');
  if (maxTokens !== undefined) inference.maxTokens = maxTokens;
  const temperature = optionalNumber(request, 'temperature');
  if (temperature !== undefined) inference.temperature = temperature;
  const topP = optionalNumber(request, 'top_p');
  if (topP !== undefined) inference.topP = topP;
  const stop = request.stop;
  if (typeof stop === 'string') inference.stopSequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) inference.stopSequences = stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  const topK = optionalNumber(request, 'top_k');
  if (topK !== undefined) body.additionalModelRequestFields = { top_k: topK };

  const toolConfig = toToolConfig(request);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;
  return body;
}

function toTurn(message: ChatMessage, index: number): ConverseMessage {
  switch (message.role) {
    case 'user':
      return { role: 'user', content: userContent(message, index) };
    case 'assistant': {
      const content: ConverseContentBlock[] = [];
      const text = textContent(message, index);
      if (text !== '') content.push({ text });
      for (const call of message.tool_calls ?? []) content.push({ toolUse: toolUse(call, index) });
      if (content.length === 0) content.push({ text: '' });
      return { role: 'assistant', content };
    }
    case 'tool': {
      if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
        throw new AdapterRequestError(
          `messages[${index}].tool_call_id is required for tool messages`,
          400,
          'messages',
        );
      }
      return {
        role: 'user',
        content: [
          {
            toolResult: {
              toolUseId: message.tool_call_id,
              content: [{ text: textContent(message, index) }],
            },
          },
        ],
      };
    }
    default:
      throw new AdapterRequestError(
        `messages[${index}].role '${message.role}' is not supported by Amazon Bedrock`,
        400,
        'messages',
      );
  }
}

function userContent(message: ChatMessage, index: number): ConverseContentBlock[] {
  const content = message.content;
  if (typeof content === 'string') return [{ text: content }];
  if (!Array.isArray(content)) {
    throw new AdapterRequestError(`messages[${index}].content must be a string or an array`, 400, 'messages');
  }
  return content.map((part) => {
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text };
    if (part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string') {
      const match = IMAGE_DATA_URL.exec(part.image_url.url);
      if (!match) {
        throw new AdapterRequestError(
          'Amazon Bedrock takes images as base64 data: URLs (png, jpeg, gif, webp) only.',
          400,
          'messages',
        );
      }
      const format = match[1] === 'jpg' ? 'jpeg' : match[1];
      return { image: { format, source: { bytes: match[2].replace(/\s+/g, '') } } };
    }
    throw new AdapterRequestError(
      `messages[${index}].content has a part of type '${String(part.type)}' that Amazon Bedrock does not take`,
      400,
      'messages',
    );
  });
}

/** Text of a message whose content is a string, null or text parts. */
function textContent(message: ChatMessage, index: number): string {
  const content = message.content;
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (part.type === 'text' && typeof part.text === 'string') return part.text;
        throw new AdapterRequestError(
          `messages[${index}] (${message.role}) may only carry text parts for Amazon Bedrock`,
          400,
          'messages',
        );
      })
      .join('\n');
  }
  throw new AdapterRequestError(`messages[${index}].content must be a string or an array`, 400, 'messages');
}

function toolUse(call: ToolCall, index: number): { toolUseId: string; name: string; input: unknown } {
  let input: unknown;
  try {
    input = call.function.arguments === '' ? {} : JSON.parse(call.function.arguments);
  } catch {
    throw new AdapterRequestError(
      `messages[${index}].tool_calls arguments must be a JSON object`,
      400,
      'messages',
    );
  }
  if (!isRecord(input)) {
    throw new AdapterRequestError(
      `messages[${index}].tool_calls arguments must be a JSON object`,
      400,
      'messages',
    );
  }
  return { toolUseId: call.id, name: call.function.name, input };
}

function toToolConfig(request: ChatRequest): ConverseBody['toolConfig'] {
  const tools = request.tools;
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  const specs: ConverseTool[] = tools.map((tool, i) => {
    if (tool.type !== 'function' || !isRecord(tool.function) || typeof tool.function.name !== 'string') {
      throw new AdapterRequestError(`tools[${i}] must be a function tool`, 400, 'tools');
    }
    const spec: ConverseTool['toolSpec'] = {
      name: tool.function.name,
      inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
    };
    if (typeof tool.function.description === 'string' && tool.function.description !== '') {
      spec.description = tool.function.description;
    }
    return { toolSpec: spec };
  });
  const choice = toToolChoice(request.tool_choice);
  return choice === undefined ? { tools: specs } : { tools: specs, toolChoice: choice };
}

/** `auto` → auto, `required` → any, a named function → tool; `none` has no Converse form (left to the model). */
function toToolChoice(choice: unknown): ConverseToolChoice | undefined {
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { tool: { name: choice.function.name } };
  }
  return undefined;
}

function optionalNumber(request: ChatRequest, key: string): number | undefined {
  const value = request[key];
  return typeof value === 'number' ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Response: Converse → OpenAI chat.completion
// ---------------------------------------------------------------------------------------------

export interface ConverseResult {
  text: string | null;
  toolCalls: ToolCall[];
  finishReason: string;
  usage: Usage;
}

/** Reads a Converse response body; throws UpstreamProtocolError when it is not one. */
export function parseConverseResponse(body: unknown): ConverseResult {
  if (!isRecord(body) || !isRecord(body.output) || !isRecord(body.output.message)) {
    throw new UpstreamProtocolError('Converse response without output.message');
  }
  const content = body.output.message.content;
  if (!Array.isArray(content)) throw new UpstreamProtocolError('Converse message without content');
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    if (!isRecord(block)) throw new UpstreamProtocolError('Converse content block is not an object');
    if (typeof block.text === 'string') texts.push(block.text);
    else if (isRecord(block.toolUse)) {
      const use = block.toolUse;
      if (typeof use.toolUseId !== 'string' || typeof use.name !== 'string') {
        throw new UpstreamProtocolError('Converse toolUse block without toolUseId or name');
      }
      toolCalls.push({
        id: use.toolUseId,
        type: 'function',
        function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
      });
    }
    // reasoningContent, citations, guardContent: nothing an OpenAI client expects.
  }
  return {
    text: texts.length > 0 ? texts.join('') : null,
    toolCalls,
    finishReason: toFinishReason(body.stopReason),
    usage: toUsage(body.usage),
  };
}

export function toUsage(raw: unknown): Usage {
  const usage = isRecord(raw) ? (raw as Partial<ConverseUsage>) : {};
  const input = count(usage.inputTokens);
  const output = count(usage.outputTokens);
  const total = count(usage.totalTokens) ?? (input !== null && output !== null ? input + output : null);
  return { prompt_tokens: input, completion_tokens: output, total_tokens: total };
}

function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/** Converse answers carry no id; MLflow leaves it empty as well. */
export function toChatCompletion(result: ConverseResult, model: string): ChatCompletion {
  const message: ChatMessage = { role: 'assistant', content: result.text };
  if (result.toolCalls.length > 0) message.tool_calls = result.toolCalls;
  return {
    id: null as unknown as string,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: result.finishReason }],
    usage: result.usage,
  };
}
