import {
  ProviderConfigError,
  TargetContext,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import {
  MlflowModelServingAdapter,
  MlflowServingConfig,
} from 'src/modules/providers/adapters/mlflow-model-serving/mlflow-model-serving.adapter';

const adapter = new MlflowModelServingAdapter();
const target: TargetContext<MlflowServingConfig> = {
  endpointName: 'e',
  endpointType: 'llm/v1/completions',
  modelName: 'm',
  config: { modelServerUrl: 'http://s' },
};

describe('MlflowModelServingAdapter', () => {
  it('requires an http(s) model_server_url', () => {
    expect(() => adapter.parseConfig({})).toThrow(ProviderConfigError);
    expect(() => adapter.parseConfig({ model_server_url: 'not a url' })).toThrow(ProviderConfigError);
    expect(() => adapter.parseConfig({ model_server_url: 'file:///etc/passwd' })).toThrow(
      ProviderConfigError,
    );
    expect(adapter.parseConfig({ model_server_url: 'https://s/x/' })).toEqual({
      modelServerUrl: 'https://s/x',
    });
  });

  it.each([
    ['a missing predictions key', { outputs: ['x'] }],
    ['an empty list', { predictions: [] }],
    ['non-string predictions', { predictions: [1, 2] }],
    ['a dict with several keys and no choices', { predictions: { a: ['x'], b: ['y'] } }],
  ])('refuses %s for completions and chat (502 upstream)', (_what, body) => {
    expect(() => adapter.parseResponse('completions', body, target)).toThrow(UpstreamProtocolError);
    expect(() => adapter.parseResponse('chat', body, target)).toThrow(UpstreamProtocolError);
  });

  it.each([
    ['an empty list', { predictions: [] }],
    ['empty embeddings', { predictions: [[], []] }],
    ['strings', { predictions: [['a']] }],
  ])('refuses %s for embeddings', (_what, body) => {
    expect(() => adapter.parseResponse('embeddings', body, target)).toThrow(UpstreamProtocolError);
  });

  it('sends content parts of a single message as their text', () => {
    const request = adapter.buildRequest(
      'chat',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
      },
      target,
    );
    expect(JSON.parse(request.body)).toEqual({ inputs: ['ab'], params: { temperature: 0, n: 1 } });
  });

  it('declares no streaming (the routing layer answers 501)', () => {
    expect(adapter.capabilities).toMatchObject({ chatStream: false, completionsStream: false });
  });
});
