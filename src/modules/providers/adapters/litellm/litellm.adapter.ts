import {
  AdapterCapabilities,
  CanonicalRequest,
  JsonObject,
  Operation,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { LiteLLMConfig, parseLiteLLMConfig } from 'src/modules/providers/adapters/litellm/litellm-config';
import { OpenAIAdapter } from 'src/modules/providers/adapters/openai/openai.adapter';
import { errorInfoFromBody } from 'src/modules/providers/adapters/openai/openai-error';

/**
 * MLflow's `litellm` provider, through a LiteLLM proxy (https://docs.litellm.ai/docs/simple_proxy):
 * OpenAI's wire format to `litellm_api_base`, the model named as LiteLLM names it
 * (`<litellm_provider>/<model.name>`), the proxy key as a Bearer token. Chat, chat streaming and
 * embeddings, as MLflow's provider serves; completions answer 501 with MLflow's message, as there.
 */
export class LiteLLMAdapter extends OpenAIAdapter {
  override readonly providers: readonly string[] = ['litellm'];
  override readonly displayName: string = 'LiteLLM';
  override readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: false,
    completionsStream: false,
    embeddings: true,
  };

  override parseConfig(raw: JsonObject, _provider: string, modelName: string | undefined): LiteLLMConfig {
    return parseLiteLLMConfig(raw, modelName);
  }

  override buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<LiteLLMConfig>,
    stream: boolean,
  ): UpstreamRequest {
    return super.buildRequest(op, request, { ...target, modelName: target.config.model }, stream);
  }

  /** The proxy's errors are OpenAI's envelope with Python's `None` as text in `type` and `param`. */
  override parseError(status: number, body: unknown): UpstreamErrorInfo {
    const error = (body as { error?: { message?: unknown } } | null)?.error;
    // Some proxy versions nest the message: {"error": {"message": {"error": "…"}}}.
    const nested = (error?.message as { error?: unknown } | undefined)?.error;
    const info = errorInfoFromBody(
      status,
      typeof nested === 'string' ? { error: { ...error, message: nested } } : body,
    );
    if (info.type === 'None') delete info.type;
    if (info.param === 'None') delete info.param;
    return info;
  }
}
