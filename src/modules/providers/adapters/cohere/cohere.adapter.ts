import {
  AdapterCapabilities,
  AdapterRequestError,
  CanonicalRequest,
  CanonicalResponse,
  ChatRequest,
  CompletionsRequest,
  EmbeddingsRequest,
  JsonObject,
  Operation,
  ProviderAdapter,
  StreamTranslator,
  TargetContext,
  TextCompletion,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { CohereConfig, parseCohereConfig } from 'src/modules/providers/adapters/cohere/cohere-config';
import { parseCohereError } from 'src/modules/providers/adapters/cohere/cohere-error.transform';
import {
  toChatCompletion,
  toCohereChatBody,
} from 'src/modules/providers/adapters/cohere/chat-completions.transform';
import {
  CohereChatStreamTranslator,
  CohereCompletionsStreamTranslator,
} from 'src/modules/providers/adapters/cohere/chat-completions-stream.transform';
import { toCohereEmbedBody, toEmbeddings } from 'src/modules/providers/adapters/cohere/embeddings.transform';

/**
 * Cohere's v2 API (https://docs.cohere.com/reference/chat, /reference/embed) behind the OpenAI-shaped
 * contract. Completions go through the chat API with the prompt as one user message: Cohere retired
 * its v1 Generate endpoint, which MLflow's provider still calls.
 */
export class CohereAdapter implements ProviderAdapter<CohereConfig> {
  readonly providers = ['cohere'] as const;
  readonly displayName = 'Cohere';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: true,
    embeddings: true,
  };

  parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): CohereConfig {
    return parseCohereConfig(raw, provider);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<CohereConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const model = target.modelName;
    if (model === undefined || model === '') {
      throw new AdapterRequestError(
        'The Cohere provider needs model.name in the endpoint configuration.',
        400,
      );
    }
    let path = '/v2/chat';
    let body: Record<string, unknown>;
    switch (op) {
      case 'chat':
        body = toCohereChatBody(request as ChatRequest, model, stream);
        break;
      case 'completions':
        body = toCohereChatBody(completionsAsChat(request as CompletionsRequest), model, stream);
        break;
      default:
        path = '/v2/embed';
        body = toCohereEmbedBody(request as EmbeddingsRequest, model);
    }
    return {
      url: `${target.config.apiBase}${path}`,
      method: 'POST',
      headers: {
        authorization: `Bearer ${target.config.apiKey}`,
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream' : 'application/json',
      },
      body: JSON.stringify(body),
    };
  }

  parseResponse(op: Operation, body: unknown, target: TargetContext<CohereConfig>): CanonicalResponse {
    const model = target.modelName ?? '';
    if (op === 'embeddings') return toEmbeddings(body, model);
    const chat = toChatCompletion(body, model);
    if (op === 'chat') return chat;
    const choice = chat.choices[0];
    const completion: TextCompletion = {
      id: chat.id,
      object: 'text_completion',
      created: chat.created,
      model,
      choices: [
        {
          index: 0,
          text: typeof choice.message.content === 'string' ? choice.message.content : '',
          finish_reason: choice.finish_reason,
        },
      ],
      usage: chat.usage,
    };
    return completion;
  }

  createStreamTranslator(op: Operation, target: TargetContext<CohereConfig>): StreamTranslator {
    const model = target.modelName ?? '';
    if (op === 'completions') return new CohereCompletionsStreamTranslator(model);
    return new CohereChatStreamTranslator(model);
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    return parseCohereError(status, body);
  }
}

function completionsAsChat(request: CompletionsRequest): ChatRequest {
  const { prompt, ...rest } = request;
  const prompts = Array.isArray(prompt) ? prompt : [prompt];
  if (prompts.length !== 1 || typeof prompts[0] !== 'string') {
    throw new AdapterRequestError('Cohere completions take exactly one prompt string.', 400, 'prompt');
  }
  return { ...rest, messages: [{ role: 'user', content: prompts[0] }] };
}
