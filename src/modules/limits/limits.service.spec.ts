import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { InvocationRecord } from 'src/common/observability/invocation';
import { AppConfig } from 'src/config/env.config';
import { TokenCounter } from 'src/modules/tokens/token-counter';
import { CounterStore } from 'src/modules/limits/counter.store';
import { LimitCounters } from 'src/modules/limits/limit-counters.service';
import { LimitRule } from 'src/modules/limits/limit-rules';
import { LimitsBackend } from 'src/modules/limits/limits-backend.service';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { LimitsThrottlerStorage } from 'src/modules/limits/limits-throttler.storage';
import { BudgetRule } from 'src/modules/limits/limits.repository';
import { LimitsService } from 'src/modules/limits/limits.service';
import { MemoryCounterStore } from 'src/modules/limits/memory-counter.store';
import { InvocationContext } from 'src/modules/pipeline/invocation-context';
import { EndpointEntry } from 'src/modules/routing/route-table';

const config = {
  LIMITS_DEFAULT_MAX_TOKENS: 100,
  LIMITS_HOLD_TTL_MS: 60_000,
  LIMITS_REDIS_RETRY_MS: 1_000,
  LIMITS_FALLBACK_DIVISOR: 2,
  LIMITS_ALERT_TIMEOUT_MS: 1_000,
} as AppConfig;

const principal = {
  id: 'p1',
  kind: 'user' as const,
  name: 'ana',
  teamId: 't1',
  apiKeyId: 'k1',
  roles: [],
  permissions: new Set<string>(),
};

function setup(rules: LimitRule[], budgets: BudgetRule[] = [], redisFails = false) {
  const calls: string[] = [];
  const primary: CounterStore = {
    kind: 'redis',
    reserve: () => {
      calls.push('reserve');
      return redisFails ? Promise.reject(new Error('timed out')) : Promise.resolve({ ok: true, after: [] });
    },
    settle: () => {
      calls.push('settle');
      return Promise.resolve([]);
    },
    read: () => Promise.reject(new Error('unused')),
    once: () => Promise.resolve(false),
  };
  let down = false;
  const backend = {
    primary,
    fallback: new MemoryCounterStore(),
    distributed: true,
    get available() {
      return !down;
    },
    markFailed: () => (down = true),
  } as unknown as LimitsBackend;
  const catalog = { rules, budgets, price: () => undefined } as unknown as LimitsCatalogService;
  const counters = new LimitCounters(config, backend);
  const service = new LimitsService(
    config,
    counters,
    catalog,
    new TokenCounter(),
    new EventEmitter2(),
    {} as UpstreamHttpClient,
  );
  const storage = new LimitsThrottlerStorage(counters);
  const invocation = () => {
    const record = { requestId: 'r', stream: false, cacheHit: false, attempts: 0 } as InvocationRecord;
    const ctx = new InvocationContext({
      requestId: 'r',
      principal,
      headers: {},
      source: undefined,
      surface: 'openai',
      op: 'chat',
      record,
      body: {},
    });
    ctx.endpoint = { name: 'chat', provider: 'openai', modelName: 'gpt-4o-mini' } as EndpointEntry;
    ctx.request = { messages: [{ role: 'user', content: 'hi' }] };
    return ctx;
  };
  const reserve = async () => {
    const ctx = invocation();
    await service.reserve(ctx);
    return ctx;
  };
  /** What RateLimitGuard does: every request rule of the invocation in one storage call. */
  const admitRequests = async () => {
    const ctx = invocation();
    const admitted = await storage.admitAll(
      rules.map((rule) => ({ rule, subject: 't1' })),
      Date.now(),
    );
    return { ctx, admitted };
  };
  return { calls, reserve, admitRequests };
}

const rule = (over: Partial<LimitRule>): LimitRule => ({
  id: 'r1',
  source: 'admin',
  scope: 'team',
  subject: null,
  endpoint: null,
  metric: 'requests',
  windowMs: 60_000,
  limit: 4,
  ...over,
});

describe('LimitsService on the request path', () => {
  it('makes no counter call at all when no limit or budget applies', async () => {
    const { calls, reserve } = setup([rule({ subject: 'another-team' }), rule({ endpoint: 'other' })]);
    const ctx = await reserve();
    ctx.finish();
    expect(calls).toEqual([]);
  });

  it('leaves request-rate rules to the rate-limit guard', async () => {
    const { calls, reserve } = setup([rule({})]);
    (await reserve()).finish();
    expect(calls).toEqual([]);
  });

  it('reserves once and settles once (when the invocation is over) when a cap applies', async () => {
    const { calls, reserve } = setup([rule({ metric: 'concurrency', windowMs: null, scope: 'key' })]);
    const ctx = await reserve();
    expect(calls).toEqual(['reserve']);
    ctx.finish();
    ctx.finish();
    expect(calls).toEqual(['reserve', 'settle']);
  });

  it('with Redis failing: rate limits fall back to limit / divisor per replica; hard budgets fail closed', async () => {
    const limited = setup([rule({})], [], true);
    const statuses: (number | string)[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        await limited.admitRequests().then(
          ({ admitted }) => {
            remaining.push(String(admitted.ops[0].limit));
            return 200;
          },
          (e: GatewayException) => e.status,
        ),
      );
    }
    // limit 4, divisor 2: two per replica; Redis is tried once, then skipped until the retry time.
    expect(statuses).toEqual([200, 200, 429]);
    expect(limited.calls).toEqual(['reserve']);
    expect(remaining).toEqual(['2', '2']);

    const budget: BudgetRule = {
      id: 'b1',
      name: 'team',
      scope: 'team',
      subject: 't1',
      endpoint: null,
      period: 'monthly',
      amountUsd: 10,
      mode: 'hard',
      alertWebhookUrl: null,
      teamId: null,
    };
    const budgeted = setup([], [budget], true);
    await expect(budgeted.reserve()).rejects.toMatchObject({ status: 503, code: 'limits_unavailable' });
  });
});
