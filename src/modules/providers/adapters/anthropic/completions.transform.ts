import {
  AdapterRequestError,
  ChatRequest,
  CompletionsRequest,
  TextCompletion,
} from 'src/modules/providers/provider-adapter';
import {
  AnthropicMessage,
  AnthropicMessagesBody,
} from 'src/modules/providers/adapters/anthropic/anthropic-messages.types';
import {
  textOf,
  toAnthropicChatBody,
  toUsage,
} from 'src/modules/providers/adapters/anthropic/chat-completions.transform';
import { toFinishReason } from 'src/modules/providers/adapters/anthropic/finish-reasons';

/** Completion parameters that survive the trip to a Messages request; `echo`, `suffix`, `best_of`, ... do not. */
const FORWARDED_KEYS = [
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'n',
  'stop',
  'user',
  'metadata',
  'service_tier',
];

/**
 * Anthropic's legacy Text Completions API is retired, so a completions request becomes a Messages
 * request whose single user message is the prompt. Streaming is not offered (MLflow does not either).
 */
export function toAnthropicCompletionsBody(
  request: CompletionsRequest,
  model: string,
): AnthropicMessagesBody {
  const chat: ChatRequest = { messages: [{ role: 'user', content: singlePrompt(request.prompt) }] };
  for (const key of FORWARDED_KEYS) {
    if (request[key] !== undefined) chat[key] = request[key];
  }
  return toAnthropicChatBody(chat, model, false);
}

function singlePrompt(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  if (Array.isArray(prompt) && prompt.length > 1 && prompt.every((p) => typeof p === 'string')) {
    throw new AdapterRequestError(
      'The Anthropic provider accepts exactly one prompt per request.',
      422,
      'prompt',
    );
  }
  throw new AdapterRequestError('prompt must be a string', 400, 'prompt');
}

export function toTextCompletion(message: AnthropicMessage): TextCompletion {
  return {
    id: message.id,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [
      { index: 0, text: textOf(message) ?? '', finish_reason: toFinishReason(message.stop_reason) ?? 'stop' },
    ],
    usage: toUsage(message.usage),
  };
}
