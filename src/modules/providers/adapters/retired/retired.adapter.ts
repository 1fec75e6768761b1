import {
  AdapterCapabilities,
  CanonicalResponse,
  JsonObject,
  ProviderAdapter,
  ProviderConfigError,
  StreamTranslator,
  UpstreamErrorInfo,
  UpstreamProtocolError,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';

/**
 * MLflow providers whose upstream services are gone. MLflow still lists them but warns on use; an
 * endpoint with one could only ever fail, so the gateway refuses the configuration at load, with
 * MLflow's own deprecation sentence and what to use instead.
 */
export const RETIRED_PROVIDERS: Readonly<Record<string, string>> = {
  palm:
    'PaLM provider is deprecated and will be removed in a future MLflow version. ' +
    "Google has shut down the PaLM API; use provider 'gemini' or 'vertex_ai'.",
  mosaicml:
    'MosaicML provider is deprecated and will be removed in a future MLflow version. ' +
    "MosaicML's hosted inference API has been shut down; use provider 'databricks'.",
  ai21labs:
    "MLflow's AI21Labs provider only accepts the Jurassic-2 models " +
    "(j2-ultra, j2-mid, j2-light), which AI21 Labs has shut down; use provider 'bedrock' or an " +
    'OpenAI-compatible provider for current AI21 models.',
};

export class RetiredProviderAdapter implements ProviderAdapter<never> {
  readonly providers: readonly string[] = Object.keys(RETIRED_PROVIDERS);
  readonly displayName: string = 'Retired provider';
  readonly capabilities: AdapterCapabilities = {
    chat: false,
    chatStream: false,
    completions: false,
    completionsStream: false,
    embeddings: false,
  };

  parseConfig(_raw: JsonObject, provider: string): never {
    throw new ProviderConfigError(
      `The provider '${provider}' is no longer supported. ${RETIRED_PROVIDERS[provider] ?? ''}`.trim(),
    );
  }

  buildRequest(): UpstreamRequest {
    throw new UpstreamProtocolError('retired provider');
  }

  parseResponse(): CanonicalResponse {
    throw new UpstreamProtocolError('retired provider');
  }

  createStreamTranslator(): StreamTranslator {
    throw new UpstreamProtocolError('retired provider');
  }

  parseError(status: number): UpstreamErrorInfo {
    return { message: `upstream returned HTTP ${status}` };
  }
}
