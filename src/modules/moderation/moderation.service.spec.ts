import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import { AppConfig, loadAppConfig } from 'src/config/env.config';
import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { InternalInvocations } from 'src/modules/pipeline/internal-invocations.service';
import { ExternalModerationClient } from 'src/modules/moderation/external-moderation.client';
import { ModerationBlockedException } from 'src/modules/moderation/moderation.exception';
import { MODERATION_VERDICT_EVENT, ModerationVerdictEvent } from 'src/modules/moderation/moderation.events';
import { ModerationPolicyStore } from 'src/modules/moderation/moderation-policy.store';
import { ModerationRepository, TeamPolicyRecord } from 'src/modules/moderation/moderation.repository';
import { ModerationService } from 'src/modules/moderation/moderation.service';
import { ChatCompletion, ChatRequest } from 'src/modules/providers/provider-adapter';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { buildRouteTable, EndpointEntry, RouteTable } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';
import { principalFixture } from 'test/fixtures/principal.fixture';

const registry = new ProviderRegistry();
const YAML = `
gatehouse:
  moderation:
    default: standard
    policies:
      standard:
        input: [{type: pii, action: redact, mode: placeholder}]
      strict:
        input: [{type: pii, action: block, entities: [card]}]
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini, config: {openai_api_key: sk-x}}
`;

function principal(teamId: string | null): Principal {
  return principalFixture({ id: `svc-${teamId}`, teamId, apiKeyId: 'k1' });
}

describe('ModerationService: the caller’s team decides the policy (no database on the request path)', () => {
  let table: RouteTable;
  let service: ModerationService;
  let store: ModerationPolicyStore;
  let reads = 0;
  const events: ModerationVerdictEvent[] = [];

  const config: AppConfig = loadAppConfig({ MODERATION_POLICY_REFRESH_MS: '0' });

  beforeAll(async () => {
    table = buildRouteTable(
      parseGatewayConfig(YAML, { env: {}, knownProviders: registry.knownProviders(), baseDir: '/tmp' }),
      registry,
      'r1',
    );
    const rows: TeamPolicyRecord[] = [
      { teamId: 'payments', endpoint: 'chat', policy: 'strict', updatedBy: null, updatedAt: new Date(0) },
      { teamId: 'labs', endpoint: '*', policy: 'none', updatedBy: null, updatedAt: new Date(0) },
    ];
    const repository = {
      all: () => {
        reads++;
        return Promise.resolve(rows);
      },
    } as unknown as ModerationRepository;
    store = new ModerationPolicyStore(repository, config);
    await store.onApplicationBootstrap();
    const routing = { table: () => table, resolve: (n: string) => table.get(n) } as unknown as RoutingService;
    const emitter = new EventEmitter2();
    emitter.on(MODERATION_VERDICT_EVENT, (e: ModerationVerdictEvent) => events.push(e));
    service = new ModerationService(
      routing,
      store,
      new ExternalModerationClient({} as InternalInvocations, new UpstreamHttpClient(config)),
      emitter,
    );
  });

  const request = (): ChatRequest => ({
    messages: [{ role: 'user', content: 'bill card 4111 1111 1111 1111 to me@example.com' }],
  });
  const screen = (p: Principal | undefined) =>
    service.screenInput({
      endpoint: table.get('chat') as EndpointEntry,
      op: 'chat',
      request: request(),
      principal: p,
      requestId: 'req-1',
      signal: new AbortController().signal,
    });

  it('redacts for anonymous callers and teams without overrides, and restores in the answer', async () => {
    for (const p of [undefined, principal(null), principal('ops')]) {
      const session = await screen(p);
      const sent = (session.request as ChatRequest).messages[0].content;
      expect(sent).toBe('bill card <<PII_CARD_1>> to <<PII_EMAIL_1>>');
      const answer: ChatCompletion = {
        id: 'x',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: `Charged <<PII_CARD_1>>.` },
            finish_reason: 'stop',
          },
        ],
      };
      const restored = (await session.screenOutput(answer)) as ChatCompletion;
      expect(restored.choices[0].message.content).toBe('Charged 4111 1111 1111 1111.');
    }
  });

  it('blocks for the payments team and lets the labs team through untouched', async () => {
    await expect(screen(principal('payments'))).rejects.toThrow(ModerationBlockedException);
    const labs = await screen(principal('labs'));
    expect((labs.request as ChatRequest).messages[0].content).toBe(
      'bill card 4111 1111 1111 1111 to me@example.com',
    );
    expect(reads).toBe(1);
  });

  it('reports the team and principal in the verdict event', async () => {
    events.length = 0;
    await screen(principal('payments')).catch(() => undefined);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      policy: 'strict',
      stage: 'input',
      action: 'block',
      teamId: 'payments',
      principalId: 'svc-payments',
      checks: [{ check: 'pii', action: 'block', categories: ['pii.card'] }],
    });
  });

  it('keeps serving when a verdict listener throws', async () => {
    const routing = { table: () => table, resolve: (n: string) => table.get(n) } as unknown as RoutingService;
    const emitter = new EventEmitter2();
    emitter.on(MODERATION_VERDICT_EVENT, () => {
      throw new Error('audit sink down');
    });
    const fragile = new ModerationService(
      routing,
      store,
      new ExternalModerationClient({} as InternalInvocations, new UpstreamHttpClient(config)),
      emitter,
    );
    const session = await fragile.screenInput({
      endpoint: table.get('chat') as EndpointEntry,
      op: 'chat',
      request: request(),
      principal: undefined,
      requestId: 'req-2',
      signal: new AbortController().signal,
    });
    expect((session.request as ChatRequest).messages[0].content).toBe(
      'bill card <<PII_CARD_1>> to <<PII_EMAIL_1>>',
    );
  });
});
