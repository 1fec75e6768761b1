import { stringify } from 'yaml';
import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';

const options = { env: { KEY: 'sk' }, knownProviders: new Set(['openai']), baseDir: '/nonexistent' };
const endpoint = (name: string, type: string, gatehouse: unknown) => ({
  name,
  endpoint_type: type,
  model: { provider: 'openai', name: 'gpt-4o-mini', config: { openai_api_key: '$KEY' } },
  gatehouse,
});

function problems(config: unknown): string[] {
  try {
    parseGatewayConfig(stringify(config), options);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('gateway.yaml: gatehouse.prompt and gatehouse.conversation', () => {
  it('reads both blocks onto the endpoint', () => {
    const config = parseGatewayConfig(
      stringify({
        endpoints: [
          endpoint('a', 'llm/v1/chat', {
            prompt: { template: 'support', version: 2 },
            conversation: { strategy: 'truncate', window_tokens: 1000 },
          }),
        ],
      }),
      options,
    );
    expect(config.endpoints[0].prompt).toEqual({ template: 'support', version: 2 });
    expect(config.endpoints[0].conversation).toMatchObject({ strategy: 'truncate', windowTokens: 1000 });
  });

  it('reports bad blocks with the endpoint they belong to', () => {
    expect(
      problems({
        endpoints: [
          endpoint('emb', 'llm/v1/embeddings', { prompt: { template: 'x' } }),
          endpoint('chat', 'llm/v1/chat', {
            prompt: { template: 'x', version: -1 },
            conversation: { strategy: 'x' },
          }),
        ],
      }),
    ).toEqual([
      "endpoints[0] (emb): 'gatehouse.prompt' is only supported on llm/v1/chat endpoints.",
      "endpoints[1] (chat): 'gatehouse.prompt.version' must be a positive integer.",
      "endpoints[1] (chat): 'gatehouse.conversation.strategy' must be 'truncate' or 'summarize'.",
    ]);
  });
});
