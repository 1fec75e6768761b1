import {
  AdapterCapabilities,
  CanonicalRequest,
  CanonicalResponse,
  JsonObject,
  Operation,
  ProviderAdapter,
  StreamTranslator,
  TargetContext,
  UpstreamErrorInfo,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { OpenAIWireConfig, parseOpenAIConfig } from 'src/modules/providers/adapters/openai/openai-config';
import {
  fromUpstreamBody,
  toUpstreamBody,
  upstreamHeaders,
  upstreamUrl,
} from 'src/modules/providers/adapters/openai/chat-completions.transform';
import { OpenAIStreamTranslator } from 'src/modules/providers/adapters/openai/chat-completions-stream.transform';
import { errorInfoFromBody } from 'src/modules/providers/adapters/openai/openai-error';

/**
 * OpenAI and Azure OpenAI (MLflow's `openai` and `azure` providers). OpenAI-compatible servers
 * extend this class and only change how their configuration is read.
 */
export class OpenAIAdapter implements ProviderAdapter<OpenAIWireConfig> {
  readonly providers: readonly string[] = ['openai', 'azure'];
  readonly displayName: string = 'OpenAI';
  readonly capabilities: AdapterCapabilities = {
    chat: true,
    chatStream: true,
    completions: true,
    completionsStream: true,
    embeddings: true,
  };

  parseConfig(raw: JsonObject, provider: string, _modelName: string | undefined): OpenAIWireConfig {
    return parseOpenAIConfig(raw, provider);
  }

  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<OpenAIWireConfig>,
    stream: boolean,
  ): UpstreamRequest {
    return {
      url: upstreamUrl(target.config, op),
      method: 'POST',
      headers: upstreamHeaders(target.config),
      body: JSON.stringify(toUpstreamBody(target.config, op, request, target.modelName, stream)),
    };
  }

  parseResponse(op: Operation, body: unknown, _target: TargetContext<OpenAIWireConfig>): CanonicalResponse {
    return fromUpstreamBody(op, body);
  }

  createStreamTranslator(_op: Operation, _target: TargetContext<OpenAIWireConfig>): StreamTranslator {
    return new OpenAIStreamTranslator();
  }

  parseError(status: number, body: unknown): UpstreamErrorInfo {
    return errorInfoFromBody(status, body);
  }
}
