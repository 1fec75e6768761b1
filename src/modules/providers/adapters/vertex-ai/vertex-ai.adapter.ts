import {
  AdapterCapabilities,
  CanonicalRequest,
  CanonicalResponse,
  EmbeddingsRequest,
  JsonObject,
  Operation,
  ProviderAdapter,
  StreamTranslator,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import {
  generateContentBody,
  generateContentMethod,
  parseGenerateContent,
  wantsBase64,
} from 'src/modules/providers/adapters/gemini/gemini.adapter';
import { GeminiStreamTranslator } from 'src/modules/providers/adapters/gemini/chat-completions-stream.transform';
import { parseGeminiError } from 'src/modules/providers/adapters/gemini/gemini-error.transform';
import {
  parseVertexAIConfig,
  VertexAIConfig,
} from 'src/modules/providers/adapters/vertex-ai/vertex-ai-config';
import {
  toVertexEmbeddings,
  toVertexPredictBody,
} from 'src/modules/providers/adapters/vertex-ai/embeddings.transform';

/**
 * Gemini on Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference):
 * the Gemini wire format under `/v1/projects/{project}/locations/{location}/publishers/google/models/`,
 * authorised by a Google Cloud access token (service account or ADC) instead of an API key.
 */
export class VertexAIAdapter implements ProviderAdapter<VertexAIConfig> {
  readonly providers = ['vertex-ai'] as const;
  readonly displayName = 'Vertex AI';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: true,
    embeddings: true,
  };

  parseConfig(raw: JsonObject, provider: string, modelName: string | undefined): VertexAIConfig {
    return parseVertexAIConfig(raw, provider, modelName);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<VertexAIConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const { origin, project, location, model } = target.config;
    const base = `${origin}/v1/projects/${project}/locations/${location}/publishers/google/models/${model}`;
    const headers = { 'content-type': 'application/json' };
    if (op === 'embeddings') {
      const body = toVertexPredictBody(request as EmbeddingsRequest);
      return { url: `${base}:predict`, method: 'POST', headers, body: JSON.stringify(body) };
    }
    return {
      url: `${base}:${generateContentMethod(stream)}`,
      method: 'POST',
      headers,
      body: JSON.stringify(generateContentBody(op, request)),
    };
  }

  async authorize(request: UpstreamRequest, target: TargetContext<VertexAIConfig>): Promise<UpstreamRequest> {
    const token = await target.config.tokens.token();
    return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
  }

  parseResponse(
    op: Operation,
    body: unknown,
    target: TargetContext<VertexAIConfig>,
    request?: CanonicalRequest,
  ): CanonicalResponse {
    if (op === 'embeddings') {
      return toVertexEmbeddings(body, target.config.model, request !== undefined && wantsBase64(request));
    }
    return parseGenerateContent(op, body, target.config.model);
  }

  createStreamTranslator(op: Operation, target: TargetContext<VertexAIConfig>): StreamTranslator {
    return new GeminiStreamTranslator(op === 'completions' ? 'completions' : 'chat', target.config.model);
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    return parseGeminiError(status, body);
  }
}
