import { Inject, Injectable, Logger } from '@nestjs/common';
import { Principal } from 'src/common/auth/principal';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { CounterOp, CounterSettlement, CounterState, CounterStore } from 'src/modules/limits/counter.store';
import { LimitRule, LimitScope } from 'src/modules/limits/limit-rules';
import { LimitsBackend } from 'src/modules/limits/limits-backend.service';
import { BudgetRule } from 'src/modules/limits/limits.repository';
import { formatReset } from 'src/modules/limits/windows';

/** What one counter of a reservation stands for: a limit rule's window, or a budget's period. */
export type OpMeta =
  | { kind: 'rule'; rule: LimitRule; end: number }
  | { kind: 'budget'; budget: BudgetRule; subject: string; start: number; end: number };

/** A reservation the counters accepted: where it was made, and what each counter holds after it. */
export interface Admission {
  store: CounterStore;
  ops: CounterOp[];
  meta: OpMeta[];
  after: CounterState[];
}

/**
 * The one way every limit is checked: a set of counter changes made in one atomic step in Redis (exact
 * across replicas), or in this process when there is no Redis. While Redis is unreachable, hard budgets
 * fail closed (503) and rate limits and caps fall back to per-replica counters of limit ÷
 * LIMITS_FALLBACK_DIVISOR.
 */
@Injectable()
export class LimitCounters {
  private readonly logger = new Logger('Limits');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly backend: LimitsBackend,
  ) {}

  /** All or nothing; throws the 429 of the first counter that has no room. */
  async reserve(reservationId: string, ops: CounterOp[], meta: OpMeta[], now: number): Promise<Admission> {
    let store: CounterStore = this.backend.primary;
    let used = ops;
    let usedMeta = meta;
    let result: Awaited<ReturnType<CounterStore['reserve']>> | undefined;
    if (this.backend.available) {
      try {
        result = await store.reserve(reservationId, ops, now, this.config.LIMITS_HOLD_TTL_MS);
      } catch (error) {
        this.backend.markFailed(error);
      }
    }
    if (!result) {
      if (meta.some((m) => m.kind === 'budget' && m.budget.mode === 'hard')) {
        throw new GatewayException(
          503,
          GatewayErrorCode.LimitsUnavailable,
          'Budgets cannot be checked right now; the request was not sent. Try again shortly.',
          { retryAfter: String(Math.max(1, Math.ceil(this.config.LIMITS_REDIS_RETRY_MS / 1000))) },
        );
      }
      const keep = meta.map((m) => m.kind === 'rule');
      const divisor = this.config.LIMITS_FALLBACK_DIVISOR;
      used = ops
        .filter((_, i) => keep[i])
        .map((op) => ({ ...op, limit: Math.max(1, Math.floor(op.limit / divisor)) }));
      usedMeta = meta.filter((_, i) => keep[i]);
      store = this.backend.fallback;
      result = await store.reserve(reservationId, used, now, this.config.LIMITS_HOLD_TTL_MS);
    }
    if (!result.ok) {
      throw refusal(usedMeta[result.index], used[result.index], result.state, used, usedMeta, now);
    }
    return { store, ops: used, meta: usedMeta, after: result.after };
  }

  /** Releases holds and applies real usage (best effort: counters and holds expire by themselves). */
  async settle(
    store: CounterStore,
    reservationId: string,
    settlements: CounterSettlement[],
    requestId: string,
  ): Promise<number[] | undefined> {
    try {
      return await store.settle(reservationId, settlements);
    } catch (error) {
      if (store === this.backend.primary && this.backend.distributed) this.backend.markFailed(error);
      this.logger.warn(`could not settle limits of ${requestId}: ${(error as Error).message}`);
      return undefined;
    }
  }

  once(store: CounterStore, key: string, ttlMs: number): Promise<boolean> {
    return store.once(key, ttlMs);
  }

  read(key: string, now: number): Promise<CounterState> {
    if (!this.backend.available) throw unavailable();
    return this.backend.primary.read(key, now).catch((error: unknown) => {
      this.backend.markFailed(error);
      throw unavailable();
    });
  }
}

function unavailable(): GatewayException {
  return new GatewayException(
    503,
    GatewayErrorCode.LimitsUnavailable,
    'Limit and budget counters are unavailable right now.',
    { retryAfter: '1' },
  );
}

function scopeValue(
  scope: LimitScope,
  principal: Principal | undefined,
  endpoint: string,
): string | undefined {
  switch (scope) {
    case 'key':
      return principal?.apiKeyId ?? undefined;
    case 'principal':
      return principal?.id;
    case 'team':
      return principal?.teamId ?? undefined;
    case 'endpoint':
      return endpoint;
    case 'global':
      return '*';
  }
}

/** The rules (or budgets) that apply to this caller on this endpoint, each with the subject it counts. */
export function matching<T extends { scope: LimitScope; subject: string | null; endpoint: string | null }>(
  items: readonly T[],
  principal: Principal | undefined,
  endpoint: string,
): { item: T; subject: string }[] {
  const out: { item: T; subject: string }[] = [];
  for (const item of items) {
    if (item.endpoint !== null && item.endpoint !== endpoint) continue;
    const value = scopeValue(item.scope, principal, endpoint);
    if (value === undefined || (item.subject !== null && item.subject !== value)) continue;
    out.push({ item, subject: value });
  }
  return out;
}

const WINDOW_NAMES: Record<number, string> = {
  1000: 'second',
  60000: 'minute',
  3600000: 'hour',
  86400000: 'day',
};

function windowName(ms: number): string {
  return WINDOW_NAMES[ms] ?? `${ms / 1000} seconds`;
}

/** OpenAI's headers for the tightest request limit and the tightest token limit that applied. */
export function rateLimitHeaders(
  ops: readonly CounterOp[],
  meta: readonly OpMeta[],
  after: readonly CounterState[],
  now: number,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const metric of ['requests', 'tokens'] as const) {
    let best: { limit: number; remaining: number; end: number } | undefined;
    meta.forEach((m, i) => {
      if (m.kind !== 'rule' || m.rule.metric !== metric) return;
      const remaining = Math.max(0, ops[i].limit - after[i].used - after[i].held);
      if (!best || remaining < best.remaining) best = { limit: ops[i].limit, remaining, end: m.end };
    });
    if (!best) continue;
    headers[`x-ratelimit-limit-${metric}`] = String(best.limit);
    headers[`x-ratelimit-remaining-${metric}`] = String(best.remaining);
    headers[`x-ratelimit-reset-${metric}`] = formatReset(best.end - now);
  }
  return headers;
}

function refusal(
  meta: OpMeta,
  op: CounterOp,
  state: CounterState,
  ops: CounterOp[],
  metas: OpMeta[],
  now: number,
): GatewayException {
  const retry = String(Math.max(1, Math.ceil((meta.end - now) / 1000)));
  if (meta.kind === 'budget') {
    const resets = new Date(meta.end).toISOString();
    return new GatewayException(
      429,
      GatewayErrorCode.BudgetExceeded,
      `Budget '${meta.budget.name}' (${meta.budget.period}, $${meta.budget.amountUsd}) has no room for this request; it resets at ${resets}.`,
      { retryAfter: retry, headers: { 'x-gatehouse-budget-reset': resets } },
    );
  }
  const rule = meta.rule;
  const zeroed = ops.map((o, i) =>
    i === metas.indexOf(meta) ? { used: o.limit, held: 0 } : { used: 0, held: 0 },
  );
  const headers = rateLimitHeaders(ops, metas, zeroed, now);
  if (rule.metric === 'concurrency') {
    return new GatewayException(
      429,
      GatewayErrorCode.RateLimitExceeded,
      `Too many concurrent requests: at most ${rule.limit} at a time per ${rule.scope}.`,
      { retryAfter: '1', headers },
    );
  }
  const what = rule.metric === 'requests' ? 'requests' : 'tokens';
  const detail =
    rule.metric === 'tokens' && op.amount > op.limit
      ? ` This request needs ${op.amount} tokens (prompt + max_tokens), more than the whole limit.`
      : ` Used ${state.used + state.held} of ${rule.limit}.`;
  return new GatewayException(
    429,
    GatewayErrorCode.RateLimitExceeded,
    `Rate limit reached for ${what} per ${windowName(rule.windowMs!)} (per ${rule.scope}).${detail} Try again in ${formatReset(meta.end - now)}.`,
    { retryAfter: retry, headers },
  );
}
