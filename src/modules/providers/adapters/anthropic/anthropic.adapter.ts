import {
  AdapterCapabilities,
  AdapterRequestError,
  CanonicalRequest,
  CanonicalResponse,
  ChatRequest,
  CompletionsRequest,
  JsonObject,
  Operation,
  ProviderAdapter,
  StreamTranslator,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import {
  AnthropicConfig,
  parseAnthropicConfig,
} from 'src/modules/providers/adapters/anthropic/anthropic-config';
import { parseAnthropicError } from 'src/modules/providers/adapters/anthropic/anthropic-error.transform';
import { AnthropicMessagesBody } from 'src/modules/providers/adapters/anthropic/anthropic-messages.types';
import { AnthropicChatStreamTranslator } from 'src/modules/providers/adapters/anthropic/chat-completions-stream.transform';
import {
  parseAnthropicMessage,
  toAnthropicChatBody,
  toChatCompletion,
} from 'src/modules/providers/adapters/anthropic/chat-completions.transform';
import {
  toAnthropicCompletionsBody,
  toTextCompletion,
} from 'src/modules/providers/adapters/anthropic/completions.transform';

/** Anthropic Messages API (https://docs.anthropic.com/en/api/messages) behind the OpenAI-shaped contract. */
export class AnthropicAdapter implements ProviderAdapter<AnthropicConfig> {
  readonly providers = ['anthropic'] as const;
  readonly displayName = 'Anthropic';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: false,
    embeddings: false,
  };

  parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): AnthropicConfig {
    return parseAnthropicConfig(raw, provider);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<AnthropicConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const model = target.modelName;
    if (model === undefined || model === '') {
      throw new AdapterRequestError(
        'The Anthropic provider needs model.name in the endpoint configuration.',
        400,
      );
    }
    let body: AnthropicMessagesBody;
    switch (op) {
      case 'chat':
        body = toAnthropicChatBody(request as ChatRequest, model, stream);
        break;
      case 'completions':
        if (stream) throw streamingCompletionsError();
        body = toAnthropicCompletionsBody(request as CompletionsRequest, model);
        break;
      default:
        throw embeddingsError();
    }
    const { apiKey, version, apiBase } = target.config;
    return {
      url: `${apiBase}/v1/messages`,
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'anthropic-version': version, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
  }

  parseResponse(op: Operation, body: unknown, _target: TargetContext<AnthropicConfig>): CanonicalResponse {
    if (op === 'embeddings') throw embeddingsError();
    const message = parseAnthropicMessage(body);
    return op === 'completions' ? toTextCompletion(message) : toChatCompletion(message);
  }

  createStreamTranslator(op: Operation, _target: TargetContext<AnthropicConfig>): StreamTranslator {
    if (op === 'completions') throw streamingCompletionsError();
    if (op === 'embeddings') throw embeddingsError();
    return new AnthropicChatStreamTranslator();
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    return parseAnthropicError(status, body);
  }
}

function embeddingsError(): AdapterRequestError {
  return new AdapterRequestError('The embeddings route is not available for Anthropic models.', 501);
}

function streamingCompletionsError(): AdapterRequestError {
  // MLflow's wording and status for the same case.
  return new AdapterRequestError(
    "Setting the 'stream' parameter to 'true' is not supported with the MLflow Gateway.",
    422,
    'stream',
  );
}
