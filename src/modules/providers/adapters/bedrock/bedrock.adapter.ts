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
  StreamFraming,
  StreamTranslator,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { BedrockConfig, parseBedrockConfig } from 'src/modules/providers/adapters/bedrock/bedrock-config';
import { parseBedrockError } from 'src/modules/providers/adapters/bedrock/bedrock-error.transform';
import { BedrockSigner } from 'src/modules/providers/adapters/bedrock/bedrock-signer';
import { BedrockChatStreamTranslator } from 'src/modules/providers/adapters/bedrock/chat-completions-stream.transform';
import {
  parseConverseResponse,
  toChatCompletion,
  toConverseBody,
} from 'src/modules/providers/adapters/bedrock/chat-completions.transform';
import {
  toConverseCompletionsBody,
  toTextCompletion,
} from 'src/modules/providers/adapters/bedrock/completions.transform';
import {
  embeddingFamily,
  toEmbeddings,
  toEmbeddingsBody,
} from 'src/modules/providers/adapters/bedrock/embeddings.transform';
import {
  EVENT_STREAM_CONTENT_TYPE,
  EVENT_STREAM_FRAMING,
} from 'src/modules/providers/adapters/bedrock/event-stream.decoder';

/** Signers kept across config reloads (their credential caches with them); bounded in case keys churn. */
const MAX_SIGNERS = 256;

/**
 * Amazon Bedrock: chat and completions through the Converse / ConverseStream APIs (any text model),
 * embeddings through InvokeModel with Titan or Cohere bodies. Requests are built unsigned; `authorize`
 * signs them with SigV4 (or they carry a Bedrock API key as a bearer token).
 */
export class BedrockAdapter implements ProviderAdapter<BedrockConfig> {
  readonly providers = ['bedrock', 'amazon-bedrock'] as const;
  readonly displayName = 'Amazon Bedrock';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: false,
    embeddings: true,
  };
  readonly streamFraming: StreamFraming = EVENT_STREAM_FRAMING;
  private readonly signers = new Map<string, BedrockSigner>();
  /** The warm path: a parsed config object finds its signer without building the key. */
  private readonly signerOf = new WeakMap<BedrockConfig, BedrockSigner>();

  parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): BedrockConfig {
    return parseBedrockConfig(raw, provider);
  }

  /** Titan's InvokeModel embeds one text per call; Cohere on Bedrock takes up to 96 texts. */
  embeddingsPerCall(target: TargetContext<BedrockConfig>): number | undefined {
    const model = target.modelName;
    const family = model === undefined ? undefined : embeddingFamily(model);
    return family === 'titan' ? 1 : family === 'cohere' ? COHERE_MAX_TEXTS : undefined;
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<BedrockConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const model = modelId(target);
    let body: unknown;
    let action: string;
    switch (op) {
      case 'chat':
        body = toConverseBody(request as ChatRequest);
        action = stream ? 'converse-stream' : 'converse';
        break;
      case 'completions':
        if (stream) throw streamingCompletionsError();
        body = toConverseCompletionsBody(request as CompletionsRequest);
        action = 'converse';
        break;
      default:
        body = toEmbeddingsBody(request as EmbeddingsRequest, embeddingsFamilyOf(model));
        action = 'invoke';
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: stream ? EVENT_STREAM_CONTENT_TYPE : 'application/json',
    };
    const { auth, endpoint } = target.config;
    if (auth.kind === 'bearer') headers.authorization = `Bearer ${auth.token}`;
    return {
      url: `${endpoint}/model/${encodeURIComponent(model)}/${action}`,
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    };
  }

  authorize(request: UpstreamRequest, target: TargetContext<BedrockConfig>): Promise<UpstreamRequest> {
    const config = target.config;
    if (config.auth.kind === 'bearer') return Promise.resolve(request);
    return this.signerFor(config).sign(request);
  }

  parseResponse(op: Operation, body: unknown, target: TargetContext<BedrockConfig>): CanonicalResponse {
    const model = modelId(target);
    switch (op) {
      case 'chat':
        return toChatCompletion(parseConverseResponse(body), model);
      case 'completions':
        return toTextCompletion(parseConverseResponse(body), model);
      default:
        return toEmbeddings(body, embeddingsFamilyOf(model), model);
    }
  }

  createStreamTranslator(op: Operation, target: TargetContext<BedrockConfig>): StreamTranslator {
    if (op !== 'chat') throw streamingCompletionsError();
    return new BedrockChatStreamTranslator(modelId(target));
  }

  parseError(
    status: number,
    body: unknown,
    headers?: Record<string, string | string[] | undefined>,
  ): UpstreamErrorInfo {
    return parseBedrockError(status, body, headers);
  }

  private signerFor(config: BedrockConfig): BedrockSigner {
    const known = this.signerOf.get(config);
    if (known !== undefined) return known;
    const key = JSON.stringify([config.region, config.stsEndpoint, config.auth]);
    let signer = this.signers.get(key);
    if (signer === undefined) {
      if (this.signers.size >= MAX_SIGNERS) this.signers.clear();
      signer = new BedrockSigner(config);
      this.signers.set(key, signer);
    }
    this.signerOf.set(config, signer);
    return signer;
  }
}

/** Bedrock's limit on `texts` for Cohere embed models. */
const COHERE_MAX_TEXTS = 96;

function modelId(target: TargetContext<BedrockConfig>): string {
  const model = target.modelName;
  if (model === undefined || model === '') {
    throw new AdapterRequestError(
      'The Amazon Bedrock provider needs model.name (a model id, inference profile or ARN) in the endpoint configuration.',
      400,
    );
  }
  return model;
}

function embeddingsFamilyOf(model: string) {
  const family = embeddingFamily(model);
  if (family === undefined) {
    throw new AdapterRequestError(
      `Amazon Bedrock embeddings are supported for Amazon Titan (amazon.titan-embed-*) and Cohere (cohere.embed-*) models, not '${model}'.`,
      422,
    );
  }
  return family;
}

function streamingCompletionsError(): AdapterRequestError {
  // MLflow's wording and status for the same case.
  return new AdapterRequestError(
    "Setting the 'stream' parameter to 'true' is not supported with the MLflow Gateway.",
    422,
    'stream',
  );
}
