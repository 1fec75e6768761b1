import { createHash, randomUUID } from 'node:crypto';
import {
  AdapterRequestError,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  CompletionsRequest,
  TextCompletion,
  ToolCall,
  Usage,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import {
  GeminiCandidate,
  GeminiContent,
  GeminiPart,
  GeminiRequestBody,
  GeminiResponse,
  GeminiUsageMetadata,
  isRecord,
  Json,
} from 'src/modules/providers/adapters/gemini/gemini.types';
import { toFinishReason } from 'src/modules/providers/adapters/gemini/finish-reasons';

/** OpenAI parameter → Gemini `generationConfig` field; the Gemini spelling is refused as MLflow does. */
const GENERATION_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['stop', 'stopSequences'],
  ['n', 'candidateCount'],
  ['max_tokens', 'maxOutputTokens'],
  ['top_k', 'topK'],
  ['top_p', 'topP'],
  ['frequency_penalty', 'frequencyPenalty'],
  ['presence_penalty', 'presencePenalty'],
];

/** OpenAI `tool_choice` string → Gemini `functionCallingConfig.mode`. */
const TOOL_MODES: Readonly<Record<string, string>> = { none: 'NONE', auto: 'AUTO', required: 'ANY' };

/** Builds a `generateContent` body from an OpenAI chat request (https://ai.google.dev/api/generate-content). */
export function toGeminiChatBody(request: ChatRequest): GeminiRequestBody {
  for (const [openai, gemini] of GENERATION_CONFIG) {
    if (gemini in request) {
      throw new AdapterRequestError(`Invalid parameter ${gemini}. Use ${openai} instead.`, 422, gemini);
    }
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw new AdapterRequestError("'messages' must be a non-empty list.", 400, 'messages');
  }
  const body: GeminiRequestBody = { contents: toContents(request.messages) };
  const system = request.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .flatMap((m, i) => toParts(m.content, `messages[${i}].content`));
  if (system.length > 0) body.systemInstruction = { parts: system };

  const generationConfig = toGenerationConfig(request);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;

  if (request.tools !== undefined && request.tools !== null) {
    if (!Array.isArray(request.tools)) throw new AdapterRequestError("'tools' must be a list.", 400, 'tools');
    const declarations = request.tools.map((tool) => {
      if (tool.type !== 'function' || !isRecord(tool.function)) {
        throw new AdapterRequestError(
          `Only function calling tool is supported, but received tool type ${String(tool.type)}`,
          422,
          'tools',
        );
      }
      const declaration: Json = { name: tool.function.name };
      if (tool.function.description !== undefined) declaration.description = tool.function.description;
      if (tool.function.parameters !== undefined) declaration.parametersJsonSchema = tool.function.parameters;
      return declaration;
    });
    if (declarations.length > 0) body.tools = [{ functionDeclarations: declarations }];
  }
  const toolConfig = toToolConfig(request.tool_choice);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;
  return body;
}

/** Completions go through chat, as MLflow's Gemini provider does: the prompt is one user message. */
export function toGeminiCompletionsBody(request: CompletionsRequest): GeminiRequestBody {
  const { prompt, ...rest } = request;
  const text = Array.isArray(prompt) ? prompt : [prompt];
  if (text.length !== 1 || typeof text[0] !== 'string') {
    throw new AdapterRequestError("'prompt' must be a single string for Gemini models.", 400, 'prompt');
  }
  const messages: ChatMessage[] = [{ role: 'user', content: text[0] }];
  if (typeof rest.system_prompt === 'string')
    messages.unshift({ role: 'system', content: rest.system_prompt });
  delete rest.system_prompt;
  return toGeminiChatBody({ ...rest, messages });
}

function toGenerationConfig(request: ChatRequest): Json {
  const config: Json = {};
  if (request.temperature !== undefined && request.temperature !== null)
    config.temperature = request.temperature;
  const maxTokens = request.max_tokens ?? request.max_completion_tokens;
  if (maxTokens !== undefined && maxTokens !== null) config.maxOutputTokens = maxTokens;
  if (request.stop !== undefined && request.stop !== null) {
    config.stopSequences = Array.isArray(request.stop) ? request.stop : [request.stop];
  }
  for (const [openai, gemini] of GENERATION_CONFIG) {
    if (openai === 'stop' || openai === 'max_tokens') continue;
    const value = request[openai];
    if (value !== undefined && value !== null) config[gemini] = value;
  }
  if (typeof request.seed === 'number') config.seed = request.seed;
  const format = request.response_format;
  if (isRecord(format)) {
    if (format.type === 'json_object') config.responseMimeType = 'application/json';
    if (format.type === 'json_schema' && isRecord(format.json_schema)) {
      config.responseMimeType = 'application/json';
      if (format.json_schema.schema !== undefined) config.responseJsonSchema = format.json_schema.schema;
    }
  }
  return config;
}

function toToolConfig(choice: unknown): GeminiRequestBody['toolConfig'] {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') {
    const mode = TOOL_MODES[choice];
    if (mode === undefined) {
      throw new AdapterRequestError(`tool_choice '${choice}' is not supported.`, 400, 'tool_choice');
    }
    return { functionCallingConfig: { mode } };
  }
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  }
  throw new AdapterRequestError('tool_choice is not a valid tool choice.', 400, 'tool_choice');
}

function toContents(messages: ChatMessage[]): GeminiContent[] {
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        return;
      case 'user':
        contents.push({ role: 'user', parts: toParts(message.content, `${at}.content`) });
        return;
      case 'assistant': {
        const parts =
          message.content === null || message.content === undefined
            ? []
            : toParts(message.content, `${at}.content`);
        for (const call of message.tool_calls ?? []) {
          callNames.set(call.id, call.function.name);
          const { id, signature } = splitCallId(call.id);
          const part: GeminiPart = {
            functionCall: { id, name: call.function.name, args: parseArguments(call, at) },
          };
          if (signature !== undefined) part.thoughtSignature = signature;
          parts.push(part);
        }
        if (parts.length === 0) parts.push({ text: '' });
        contents.push({ role: 'model', parts });
        return;
      }
      case 'tool': {
        const id = message.tool_call_id;
        const name = (id !== undefined ? callNames.get(id) : undefined) ?? message.name;
        if (typeof name !== 'string') {
          throw new AdapterRequestError(
            `${at}.tool_call_id does not match a tool call of an earlier assistant message.`,
            400,
            'messages',
          );
        }
        const part: GeminiPart = {
          functionResponse: {
            id: id === undefined ? undefined : splitCallId(id).id,
            name,
            response: toResponseObject(message.content),
          },
        };
        // Gemini wants every response to one model turn's calls in a single user turn.
        const last = contents[contents.length - 1];
        if (last?.role === 'user' && last.parts.every((p) => p.functionResponse !== undefined))
          last.parts.push(part);
        else contents.push({ role: 'user', parts: [part] });
        return;
      }
      default:
        throw new AdapterRequestError(
          `${at}.role '${String(message.role)}' is not supported.`,
          400,
          'messages',
        );
    }
  });
  return contents;
}

function parseArguments(call: ToolCall, at: string): Json {
  try {
    const args: unknown = JSON.parse(call.function.arguments || '{}');
    if (isRecord(args)) return args;
  } catch {
    // reported below
  }
  throw new AdapterRequestError(`${at}.tool_calls arguments must be a JSON object.`, 400, 'messages');
}

/** A function response must be a JSON object: other JSON values and plain text are wrapped. */
function toResponseObject(content: ChatMessage['content']): Json {
  const text = typeof content === 'string' ? content : textOf(content);
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : { result: parsed };
  } catch {
    return { result: text };
  }
}

function textOf(content: ChatMessage['content']): string {
  if (!Array.isArray(content)) return '';
  return content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function toParts(content: ChatMessage['content'], at: string): GeminiPart[] {
  if (content === null || content === undefined) return [{ text: '' }];
  if (typeof content === 'string') return [{ text: content }];
  if (!Array.isArray(content))
    throw new AdapterRequestError(`${at} must be a string or a list.`, 400, 'messages');
  return content.map((part) => {
    if (part.type === 'text' && typeof part.text === 'string') return { text: part.text };
    if (part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string') {
      const match = DATA_URL.exec(part.image_url.url);
      if (match === null) {
        throw new AdapterRequestError(
          `${at}: Gemini models take images as base64 data: URLs.`,
          400,
          'messages',
        );
      }
      return { inlineData: { mimeType: match[1], data: match[2] } };
    }
    throw new AdapterRequestError(
      `${at}: content part type '${String(part.type)}' is not supported for Gemini models.`,
      400,
      'messages',
    );
  });
}

export function parseGeminiResponse(body: unknown): GeminiResponse {
  if (!isRecord(body)) throw new UpstreamProtocolError('the Gemini response is not a JSON object');
  if (body.candidates !== undefined && !Array.isArray(body.candidates)) {
    throw new UpstreamProtocolError('the Gemini response candidates are not a list');
  }
  if (body.candidates === undefined && !isRecord(body.promptFeedback)) {
    throw new UpstreamProtocolError('the Gemini response has neither candidates nor promptFeedback');
  }
  return body;
}

export interface CandidateOutput {
  index: number;
  text: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
}

/** Answer text (thought parts left out) and function calls of one candidate. */
export function readCandidate(candidate: GeminiCandidate, position: number, callBase = 0): CandidateOutput {
  const parts = Array.isArray(candidate.content?.parts) ? candidate.content.parts : [];
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const part of parts) {
    if (!isRecord(part) || part.thought === true) continue;
    if (typeof part.text === 'string') text += part.text;
    if (isRecord(part.functionCall) && typeof part.functionCall.name === 'string') {
      const args = JSON.stringify(isRecord(part.functionCall.args) ? part.functionCall.args : {});
      const callId =
        typeof part.functionCall.id === 'string' && part.functionCall.id !== ''
          ? part.functionCall.id
          : syntheticCallId(part.functionCall.name, args, callBase + toolCalls.length);
      const id =
        typeof part.thoughtSignature === 'string' && part.thoughtSignature !== ''
          ? `${callId}${SIGNATURE_MARK}${part.thoughtSignature}`
          : callId;
      toolCalls.push({ id, type: 'function', function: { name: part.functionCall.name, arguments: args } });
    }
  }
  const finishReason =
    typeof candidate.finishReason === 'string' && candidate.finishReason !== 'FINISH_REASON_UNSPECIFIED'
      ? toFinishReason(candidate.finishReason, toolCalls.length > 0 || callBase > 0)
      : null;
  return {
    index: typeof candidate.index === 'number' ? candidate.index : position,
    text,
    toolCalls,
    finishReason,
  };
}

/**
 * Thinking models sign their function calls (`thoughtSignature`) and want the signature back with the
 * call in the next turn. OpenAI clients echo only the call id, so the signature travels inside it
 * (standard base64 never contains the mark).
 */
const SIGNATURE_MARK = '__thought__';

export function splitCallId(callId: string): { id: string; signature?: string } {
  const at = callId.indexOf(SIGNATURE_MARK);
  if (at < 0) return { id: callId };
  return { id: callId.slice(0, at), signature: callId.slice(at + SIGNATURE_MARK.length) };
}

/** Gemini may omit a call's id; OpenAI clients need one to answer it, so derive a stable one. */
function syntheticCallId(name: string, args: string, index: number): string {
  return `call_${createHash('sha256').update(`${index}/${name}/${args}`).digest('hex').slice(0, 24)}`;
}

export function toUsage(meta: GeminiUsageMetadata | undefined): Usage | null {
  if (!isRecord(meta)) return null;
  const prompt = count(meta.promptTokenCount) + count(meta.toolUsePromptTokenCount);
  const thoughts = count(meta.thoughtsTokenCount);
  const completion = count(meta.candidatesTokenCount) + thoughts;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof meta.totalTokenCount === 'number' ? meta.totalTokenCount : prompt + completion,
  };
  if (typeof meta.cachedContentTokenCount === 'number') {
    usage.prompt_tokens_details = { cached_tokens: meta.cachedContentTokenCount };
  }
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

export function responseId(response: GeminiResponse): string {
  return typeof response.responseId === 'string' && response.responseId !== ''
    ? response.responseId
    : `gemini-${randomUUID()}`;
}

export function responseModel(response: GeminiResponse, model: string): string {
  return typeof response.modelVersion === 'string' && response.modelVersion !== ''
    ? response.modelVersion
    : model;
}

function blockedChoice(response: GeminiResponse): boolean {
  return (response.candidates ?? []).length === 0 && typeof response.promptFeedback?.blockReason === 'string';
}

export function toChatCompletion(response: GeminiResponse, model: string): ChatCompletion {
  const choices: ChatCompletion['choices'] = (response.candidates ?? []).map((candidate, i) => {
    const out = readCandidate(candidate, i);
    const message: ChatMessage = {
      role: 'assistant',
      content: out.text === '' && out.toolCalls.length > 0 ? null : out.text,
    };
    if (out.toolCalls.length > 0) message.tool_calls = out.toolCalls;
    return { index: out.index, message, finish_reason: out.finishReason ?? 'stop' };
  });
  if (blockedChoice(response)) {
    choices.push({
      index: 0,
      message: { role: 'assistant', content: null },
      finish_reason: 'content_filter',
    });
  }
  return {
    id: responseId(response),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: responseModel(response, model),
    choices,
    usage: toUsage(response.usageMetadata),
  };
}

export function toTextCompletion(response: GeminiResponse, model: string): TextCompletion {
  const choices: TextCompletion['choices'] = (response.candidates ?? []).map((candidate, i) => {
    const out = readCandidate(candidate, i);
    return { index: out.index, text: out.text, finish_reason: out.finishReason ?? 'stop' };
  });
  if (blockedChoice(response)) choices.push({ index: 0, text: '', finish_reason: 'content_filter' });
  return {
    id: responseId(response),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: responseModel(response, model),
    choices,
    usage: toUsage(response.usageMetadata),
  };
}
