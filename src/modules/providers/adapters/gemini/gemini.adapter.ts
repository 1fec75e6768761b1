import {
  AdapterCapabilities,
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
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { GeminiConfig, parseGeminiConfig } from 'src/modules/providers/adapters/gemini/gemini-config';
import {
  parseGeminiResponse,
  toChatCompletion,
  toGeminiChatBody,
  toGeminiCompletionsBody,
  toTextCompletion,
} from 'src/modules/providers/adapters/gemini/chat-completions.transform';
import { GeminiStreamTranslator } from 'src/modules/providers/adapters/gemini/chat-completions-stream.transform';
import {
  toGeminiEmbeddings,
  toGeminiEmbeddingsCall,
} from 'src/modules/providers/adapters/gemini/embeddings.transform';
import { parseGeminiError } from 'src/modules/providers/adapters/gemini/gemini-error.transform';
import { GeminiRequestBody } from 'src/modules/providers/adapters/gemini/gemini.types';

/** The `generateContent` body for chat or completions (both are chat on Gemini). */
export function generateContentBody(
  op: 'chat' | 'completions',
  request: CanonicalRequest,
): GeminiRequestBody {
  return op === 'chat'
    ? toGeminiChatBody(request as ChatRequest)
    : toGeminiCompletionsBody(request as CompletionsRequest);
}

/** `:generateContent`, or `:streamGenerateContent?alt=sse` for a stream (SSE rather than a JSON array). */
export function generateContentMethod(stream: boolean): string {
  return stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
}

export function parseGenerateContent(op: Operation, body: unknown, model: string): CanonicalResponse {
  const response = parseGeminiResponse(body);
  return op === 'completions' ? toTextCompletion(response, model) : toChatCompletion(response, model);
}

export function wantsBase64(request: CanonicalRequest): boolean {
  return (request as EmbeddingsRequest).encoding_format === 'base64';
}

/**
 * Google AI Studio's Gemini API (https://ai.google.dev/api) behind the OpenAI-shaped contract: chat and
 * completions through `generateContent` / `streamGenerateContent`, embeddings through `embedContent` /
 * `batchEmbedContents`, the key in `x-goog-api-key` as MLflow sends it.
 */
export class GeminiAdapter implements ProviderAdapter<GeminiConfig> {
  readonly providers = ['gemini'] as const;
  readonly displayName = 'Gemini';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: true,
    embeddings: true,
  };

  parseConfig(raw: JsonObject, provider: string, modelName: string | undefined): GeminiConfig {
    return parseGeminiConfig(raw, provider, modelName);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<GeminiConfig>,
    stream: boolean,
  ): UpstreamRequest {
    const { apiKey, apiBase, model } = target.config;
    const headers = { 'x-goog-api-key': apiKey, 'content-type': 'application/json' };
    const base = `${apiBase}/v1beta/models/${model}`;
    if (op === 'embeddings') {
      const call = toGeminiEmbeddingsCall(request as EmbeddingsRequest, model);
      return { url: `${base}:${call.method}`, method: 'POST', headers, body: JSON.stringify(call.body) };
    }
    return {
      url: `${base}:${generateContentMethod(stream)}`,
      method: 'POST',
      headers,
      body: JSON.stringify(generateContentBody(op, request)),
    };
  }

  parseResponse(
    op: Operation,
    body: unknown,
    target: TargetContext<GeminiConfig>,
    request?: CanonicalRequest,
  ): CanonicalResponse {
    if (op === 'embeddings') {
      return toGeminiEmbeddings(body, target.config.model, request !== undefined && wantsBase64(request));
    }
    return parseGenerateContent(op, body, target.config.model);
  }

  createStreamTranslator(op: Operation, target: TargetContext<GeminiConfig>): StreamTranslator {
    return new GeminiStreamTranslator(op === 'completions' ? 'completions' : 'chat', target.config.model);
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    return parseGeminiError(status, body);
  }
}
