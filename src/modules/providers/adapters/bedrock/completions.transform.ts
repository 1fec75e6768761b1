import {
  AdapterRequestError,
  ChatRequest,
  CompletionsRequest,
  TextCompletion,
} from 'src/modules/providers/provider-adapter';
import { ConverseBody } from 'src/modules/providers/adapters/bedrock/converse.types';
import {
  ConverseResult,
  toConverseBody,
} from 'src/modules/providers/adapters/bedrock/chat-completions.transform';

/** Completion parameters that survive the trip to a Converse request. */
const FORWARDED_KEYS = ['max_tokens', 'temperature', 'top_p', 'top_k', 'n', 'stop'];

/**
 * A completions request becomes a Converse request whose single user message is the prompt, so
 * every Bedrock text model answers it the same way (MLflow's per-vendor InvokeModel bodies are
 * retired or model-specific). Streaming completions are not offered (MLflow does not either).
 */
export function toConverseCompletionsBody(request: CompletionsRequest): ConverseBody {
  const chat: ChatRequest = { messages: [{ role: 'user', content: singlePrompt(request.prompt) }] };
  for (const key of FORWARDED_KEYS) {
    if (request[key] !== undefined) chat[key] = request[key];
  }
  return toConverseBody(chat);
}

function singlePrompt(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  if (Array.isArray(prompt) && prompt.length > 1 && prompt.every((p) => typeof p === 'string')) {
    throw new AdapterRequestError(
      'The Amazon Bedrock provider accepts exactly one prompt per request.',
      422,
      'prompt',
    );
  }
  throw new AdapterRequestError('prompt must be a string', 400, 'prompt');
}

export function toTextCompletion(result: ConverseResult, model: string): TextCompletion {
  return {
    id: null as unknown as string,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, text: result.text ?? '', finish_reason: result.finishReason }],
    usage: result.usage,
  };
}
