import {
  AdapterCapabilities,
  AdapterRequestError,
  CanonicalRequest,
  CanonicalResponse,
  CompletionsRequest,
  JsonObject,
  Operation,
  ProviderAdapter,
  StreamTranslator,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { parseTgiConfig, TgiConfig } from 'src/modules/providers/adapters/huggingface-tgi/tgi-config';
import {
  TgiStreamTranslator,
  toGenerateBody,
  toTextCompletion,
} from 'src/modules/providers/adapters/huggingface-tgi/completions.transform';

/**
 * Hugging Face Text Generation Inference (https://huggingface.github.io/text-generation-inference/):
 * completions through `/generate` and `/generate_stream`, as MLflow's provider does. Like MLflow it
 * offers no chat or embeddings (the routing layer answers those with MLflow's 501 message); a TGI's
 * OpenAI-compatible Messages API is reachable through the `openai-compatible` provider instead.
 */
export class HuggingFaceTgiAdapter implements ProviderAdapter<TgiConfig> {
  readonly providers = ['huggingface-text-generation-inference'] as const;
  readonly displayName = 'Hugging Face Text Generation Inference';
  readonly capabilities: AdapterCapabilities = {
    chat: false,
    chatStream: false,
    completions: true,
    completionsStream: true,
    embeddings: false,
  };

  parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): TgiConfig {
    return parseTgiConfig(raw, provider);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<TgiConfig>,
    stream: boolean,
  ): UpstreamRequest {
    if (op !== 'completions') throw notImplemented(op);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (target.config.apiKey !== undefined) headers.authorization = `Bearer ${target.config.apiKey}`;
    if (stream) headers.accept = 'text/event-stream';
    return {
      url: `${target.config.serverUrl}/${stream ? 'generate_stream' : 'generate'}`,
      method: 'POST',
      headers,
      body: JSON.stringify(toGenerateBody(request as CompletionsRequest, stream)),
    };
  }

  parseResponse(op: Operation, body: unknown, target: TargetContext<TgiConfig>): CanonicalResponse {
    if (op !== 'completions') throw notImplemented(op);
    return toTextCompletion(body, target.modelName ?? '');
  }

  createStreamTranslator(op: Operation, target: TargetContext<TgiConfig>): StreamTranslator {
    if (op !== 'completions') throw notImplemented(op);
    return new TgiStreamTranslator(target.modelName ?? '');
  }

  /** TGI errors are `{"error": "...", "error_type": "validation" | "generation" | "overloaded" | ...}`. */
  parseError(status: number, body: unknown): UpstreamErrorInfo {
    if (
      typeof body === 'object' &&
      body !== null &&
      typeof (body as { error?: unknown }).error === 'string'
    ) {
      const { error, error_type: type } = body as { error: string; error_type?: unknown };
      return typeof type === 'string' ? { message: error, type } : { message: error };
    }
    return { message: `Text Generation Inference returned HTTP ${status}` };
  }
}

function notImplemented(op: Operation): AdapterRequestError {
  return new AdapterRequestError(
    `The ${op} route is not implemented for Hugging Face Text Generation Inference models.`,
    501,
  );
}
