import { ProviderConfigError } from 'src/modules/providers/provider-adapter';
import { parseGeminiConfig } from 'src/modules/providers/adapters/gemini/gemini-config';
import { parseVertexAIConfig } from 'src/modules/providers/adapters/vertex-ai/vertex-ai-config';

describe('gemini config', () => {
  it('reads MLflow keys and our api base', () => {
    expect(parseGeminiConfig({ gemini_api_key: ' k ' }, 'gemini', 'models/gemini-2.0-flash')).toEqual({
      apiKey: 'k',
      apiBase: 'https://generativelanguage.googleapis.com',
      model: 'gemini-2.0-flash',
    });
    expect(
      parseGeminiConfig(
        { gemini_api_key: 'k', gemini_api_base: 'http://127.0.0.1:9/proxy/v1beta/models/' },
        'gemini',
        'g',
      ).apiBase,
    ).toBe('http://127.0.0.1:9/proxy');
  });

  it.each([
    [{}, 'g', 'gemini_api_key is required'],
    [{ gemini_api_key: 'k' }, undefined, 'model.name is required'],
    [{ gemini_api_key: 'k' }, 'gemini/../../x', 'is not a model id'],
    [{ gemini_api_key: 'k', gemini_api_base: 'ftp://x' }, 'g', 'gemini_api_base must be an http(s) URL'],
    [{ gemini_api_key: 'k', gemini_api_base: 'https://u:p@x' }, 'g', 'must not carry credentials'],
  ])('refuses %j with model %s', (raw, model, message) => {
    expect(() => parseGeminiConfig(raw, 'gemini', model)).toThrow(ProviderConfigError);
    expect(() => parseGeminiConfig(raw, 'gemini', model)).toThrow(message);
  });
});

describe('vertex_ai config', () => {
  it('defaults to the global endpoint and builds regional hosts', () => {
    expect(parseVertexAIConfig({ vertex_project: 'p-1' }, 'vertex-ai', 'gemini-2.5-pro')).toMatchObject({
      project: 'p-1',
      location: 'global',
      origin: 'https://aiplatform.googleapis.com',
      model: 'gemini-2.5-pro',
    });
    expect(
      parseVertexAIConfig({ vertex_project: 'p-1', vertex_location: 'europe-west4' }, 'vertex-ai', 'm')
        .origin,
    ).toBe('https://europe-west4-aiplatform.googleapis.com');
  });

  it.each([
    [{}, 'vertex_project is required'],
    [{ vertex_project: 'p/../../evil' }, 'is not a Google Cloud project id'],
    [{ vertex_project: 'p', vertex_location: 'us-central1/x' }, 'is not a Google Cloud location'],
    [
      { vertex_project: 'p', vertex_credentials: '{"type":"service_account"}' },
      'needs client_email and private_key',
    ],
  ])('refuses %j', (raw, message) => {
    expect(() => parseVertexAIConfig(raw, 'vertex-ai', 'm')).toThrow(message);
  });
});
