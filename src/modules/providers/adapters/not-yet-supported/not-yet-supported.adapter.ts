import {
  AdapterCapabilities,
  CanonicalResponse,
  JsonObject,
  ProviderAdapter,
  StreamTranslator,
  UpstreamErrorInfo,
  UpstreamProtocolError,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';

const NAMES: Record<string, string> = {
  litellm: 'LiteLLM',
};

/**
 * MLflow providers whose adapters have not landed yet. Their YAML is accepted unchanged (so an MLflow
 * config file loads), and every call answers 501 with MLflow's own "not implemented" message — the
 * same answer MLflow gives for a capability a provider lacks. Each provider moves out of this list
 * when its adapter lands.
 */
export class NotYetSupportedAdapter implements ProviderAdapter<string> {
  readonly providers: readonly string[] = Object.keys(NAMES);
  readonly displayName: string = 'Not yet supported';
  readonly capabilities: AdapterCapabilities = {
    chat: false,
    chatStream: false,
    completions: false,
    completionsStream: false,
    embeddings: false,
  };

  parseConfig(_raw: JsonObject, provider: string): string {
    return NAMES[provider] ?? provider;
  }

  buildRequest(): UpstreamRequest {
    throw new UpstreamProtocolError('provider not supported');
  }

  parseResponse(): CanonicalResponse {
    throw new UpstreamProtocolError('provider not supported');
  }

  createStreamTranslator(): StreamTranslator {
    throw new UpstreamProtocolError('provider not supported');
  }

  parseError(status: number): UpstreamErrorInfo {
    return { message: `upstream returned HTTP ${status}` };
  }
}
