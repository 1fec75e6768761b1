import { EventEmitter } from 'node:events';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { FastifyReply } from 'fastify';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { InvocationRecord } from 'src/common/observability/invocation';
import { AppConfig } from 'src/config/env.config';
import { TokenCounter } from 'src/modules/conversations/token-counter';
import { CounterStore } from 'src/modules/limits/counter.store';
import { LimitRule } from 'src/modules/limits/limit-rules';
import { LimitsBackend } from 'src/modules/limits/limits-backend.service';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { BudgetRule } from 'src/modules/limits/limits.repository';
import { LimitsService } from 'src/modules/limits/limits.service';
import { MemoryCounterStore } from 'src/modules/limits/memory-counter.store';

const config = {
  LIMITS_DEFAULT_MAX_TOKENS: 100,
  LIMITS_HOLD_TTL_MS: 60_000,
  LIMITS_REDIS_RETRY_MS: 1_000,
  LIMITS_FALLBACK_DIVISOR: 2,
  LIMITS_ALERT_TIMEOUT_MS: 1_000,
} as AppConfig;

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
  const service = new LimitsService(config, backend, catalog, new TokenCounter(), new EventEmitter2());
  const headers: Record<string, string> = {};
  const raw = new EventEmitter();
  const reply = {
    request: { principal: { id: 'p1', teamId: 't1', apiKeyId: 'k1' } },
    raw,
    header: (name: string, value: string) => (headers[name] = value),
  } as unknown as FastifyReply;
  const record = { requestId: 'r', stream: false, cacheHit: false, attempts: 0 } as InvocationRecord;
  const admit = () =>
    service.admit({
      endpoint: { name: 'chat', provider: 'openai', modelName: 'gpt-4o-mini' },
      op: 'chat',
      request: { messages: [{ role: 'user', content: 'hi' }] },
      reply,
      record,
    });
  return { calls, admit, headers, raw };
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
    const { calls, admit, raw } = setup([rule({ subject: 'another-team' }), rule({ endpoint: 'other' })]);
    await admit();
    raw.emit('close');
    expect(calls).toEqual([]);
  });

  it('reserves once and settles once (at close) when a limit applies', async () => {
    const { calls, admit, raw } = setup([rule({ metric: 'concurrency', windowMs: null, scope: 'key' })]);
    await admit();
    raw.emit('close');
    raw.emit('close');
    expect(calls).toEqual(['reserve', 'settle']);
  });

  it('with Redis failing: rate limits fall back to limit / divisor per replica; hard budgets fail closed', async () => {
    const limited = setup([rule({})], [], true);
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        await limited.admit().then(
          () => 200,
          (e: GatewayException) => e.status,
        ),
      );
    }
    // limit 4, divisor 2: two per replica; Redis is tried once, then skipped until the retry time.
    expect(statuses).toEqual([200, 200, 429]);
    expect(limited.calls).toEqual(['reserve']);
    expect(limited.headers['x-ratelimit-limit-requests']).toBe('2');

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
    };
    const budgeted = setup([], [budget], true);
    await expect(budgeted.admit()).rejects.toMatchObject({ status: 503, code: 'limits_unavailable' });
  });
});
