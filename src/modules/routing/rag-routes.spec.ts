import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { buildRouteTable } from 'src/modules/routing/route-table';

const registry = new ProviderRegistry();
const parse = (yaml: string) =>
  parseGatewayConfig(yaml, { env: {}, knownProviders: registry.knownProviders(), baseDir: '/tmp' });

const CHAT = `
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini, config: {openai_api_key: k}}
    gatehouse: {timeout_ms: 1234}`;

describe('RAG endpoints in the route table', () => {
  it('declares a RAG endpoint without a model: its LLM endpoint under its own name, cache and limits', () => {
    const config = parse(`
endpoints:${CHAT}
  - name: ask
    endpoint_type: llm/v1/chat
    limit: {calls: 5, renewal_period: minute}
    gatehouse:
      cache: {ttl_seconds: 60}
      rag: {knowledge_base: kb, template: answer, llm_endpoint: chat, top_k: 3}
`);
    const table = buildRouteTable(config, registry, 'r1');
    const ask = table.get('ask');
    const chat = table.get('chat');
    expect(ask?.kind).toBe('endpoint');
    if (ask?.kind !== 'endpoint' || chat?.kind !== 'endpoint') throw new Error('not endpoints');
    expect(ask.rag).toMatchObject({ knowledgeBase: 'kb', llmEndpoint: 'chat', topK: 3 });
    expect(ask.provider).toBe('openai');
    expect(ask.modelName).toBe('gpt-4o-mini');
    expect(ask.adapter).toBe(chat.adapter);
    expect(ask.target).toBe(chat.target);
    expect(ask.timeouts).toEqual({ headersMs: 1234, idleMs: undefined });
    expect(ask.limit).toEqual({ calls: 5, renewal_period: 'minute', key: null });
    expect(ask.cache).toMatchObject({ ttlSeconds: 60 });
    expect(chat.cache).toBeUndefined();
    expect(chat.rag).toBeUndefined();
  });

  it('refuses a RAG endpoint over a missing or non-chat LLM endpoint, and on a non-chat type', () => {
    const build = (yaml: string) => () => buildRouteTable(parse(yaml), registry, 'r');
    expect(
      build(`
endpoints:${CHAT}
  - name: ask
    endpoint_type: llm/v1/chat
    gatehouse: {rag: {knowledge_base: kb, template: t, llm_endpoint: nope}}
`),
    ).toThrow("gatehouse.rag.llm_endpoint 'nope' is not a chat endpoint");
    expect(() =>
      parse(`
endpoints:${CHAT}
  - name: ask
    endpoint_type: llm/v1/embeddings
    gatehouse: {rag: {knowledge_base: kb, template: t, llm_endpoint: chat}}
`),
    ).toThrow(GatewayConfigError);
  });
});
