import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { FastifyReply } from 'fastify';
import { Principal } from 'src/common/auth/principal';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { InvocationRecord } from 'src/common/observability/invocation';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { nanoUsd } from 'src/modules/billing/pricing/price-catalog';
import { MessageCounter, TokenCounter } from 'src/modules/conversations/token-counter';
import { CounterOp, CounterSettlement, CounterState, CounterStore } from 'src/modules/limits/counter.store';
import {
  EndpointLimitsConfig,
  LimitRule,
  LimitScope,
  mlflowRule,
  Price,
} from 'src/modules/limits/limit-rules';
import { LimitsBackend } from 'src/modules/limits/limits-backend.service';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { BudgetRule } from 'src/modules/limits/limits.repository';
import { StreamTally } from 'src/modules/limits/stream-tally';
import { budgetWindow, formatReset, rateWindow } from 'src/modules/limits/windows';
import { EndpointLimit } from 'src/config/gateway-config.types';
import {
  CanonicalRequest,
  ChatRequest,
  CompletionsRequest,
  EmbeddingsRequest,
  Operation,
} from 'src/modules/providers/provider-adapter';

/** Emitted once per budget and period when its spend reaches the amount (soft and hard budgets). */
export const BUDGET_EXCEEDED = 'budget.exceeded';

export interface BudgetExceededEvent {
  budgetId: string;
  name: string;
  mode: 'hard' | 'soft';
  subject: string;
  period: string;
  amountUsd: number;
  spentUsd: number;
  windowStart: string;
  resetsAt: string;
}

export interface AdmitInput {
  endpoint: { name: string; provider: string; modelName: string | undefined; limits?: EndpointLimitsConfig };
  op: Operation;
  request: CanonicalRequest;
  reply: FastifyReply;
  record: InvocationRecord;
}

type OpMeta =
  | { kind: 'rule'; rule: LimitRule; end: number }
  | { kind: 'budget'; budget: BudgetRule; subject: string; start: number; end: number };

const DAY = 86_400_000;
const REPORTS_STREAM_USAGE = new Set(['openai', 'azure', 'anthropic']);

/**
 * Admission and settlement of one request: rate limits, token limits, concurrency caps and USD budgets
 * reserved in one atomic step before the upstream call, settled with the real usage when the response is
 * over. A request no limit or budget applies to makes no Redis call at all.
 */
@Injectable()
export class LimitsService {
  private readonly logger = new Logger('Limits');
  private readonly predictRules = new WeakMap<object, LimitRule[]>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly backend: LimitsBackend,
    private readonly catalog: LimitsCatalogService,
    private readonly tokens: TokenCounter,
    private readonly events: EventEmitter2,
  ) {}

  /** LLM requests: everything applies. Throws 429/503 when refused; sets the x-ratelimit-* headers otherwise. */
  async admit(input: AdmitInput): Promise<Lease> {
    const { endpoint, reply, record, op, request } = input;
    const principal = reply.request.principal;
    const now = Date.now();
    const lookup = this.catalog.price(endpoint.provider, endpoint.modelName, endpoint.limits?.price, now);
    const lease = new Lease(this, record, reply, lookup?.price, op, request);
    if (record.stream && !REPORTS_STREAM_USAGE.has(endpoint.provider)) {
      // Loaded in the background (once per process): a stream without usage is counted with it once ready.
      // OpenAI (we always ask for include_usage), Azure and Anthropic report usage, so they never need it.
      void this.tokens
        .counterFor(TokenCounter.choose(endpoint.provider, endpoint.modelName))
        .then((counter) => (lease.tally.counter = counter))
        .catch(() => undefined);
    }
    const rules = matching(
      [...(endpoint.limits?.rules ?? []), ...this.catalog.rules],
      principal,
      endpoint.name,
    );
    const budgets = matching(this.catalog.budgets, principal, endpoint.name);
    if (rules.length === 0 && budgets.length === 0) return lease.attach();
    if (budgets.length > 0 || rules.some((r) => r.item.metric === 'tokens')) {
      const counter = await this.tokens.counterFor(
        TokenCounter.choose(endpoint.provider, endpoint.modelName),
      );
      lease.promptEstimate = countPrompt(op, request, counter);
      lease.completionReserve =
        op === 'embeddings' ? 0 : completionCap(request, this.config.LIMITS_DEFAULT_MAX_TOKENS);
    }
    const tokens = lease.promptEstimate + lease.completionReserve;
    const price = lookup?.price;
    lease.costReserve = price
      ? nanoUsd(lease.promptEstimate, price.inputPerMillion) +
        nanoUsd(lease.completionReserve, price.outputPerMillion)
      : 0;
    const ops: CounterOp[] = [];
    const meta: OpMeta[] = [];
    for (const { item: rule, subject } of rules) {
      if (rule.metric === 'concurrency') {
        ops.push({
          key: `c:${rule.id}:${subject}`,
          limit: rule.limit,
          amount: 1,
          mode: 'hold',
          ttlMs: this.config.LIMITS_HOLD_TTL_MS + 60_000,
        });
        meta.push({ kind: 'rule', rule, end: now + 1000 });
        continue;
      }
      const window = rateWindow(rule.windowMs!, now);
      const amount = rule.metric === 'requests' ? 1 : tokens;
      ops.push({
        key: `r:${rule.id}:${subject}:${window.start}`,
        limit: rule.limit,
        amount,
        mode: 'add',
        ttlMs: window.end - now + 60_000,
      });
      meta.push({ kind: 'rule', rule, end: window.end });
    }
    for (const { item: budget, subject } of budgets) {
      const window = budgetWindow(budget.period, now);
      ops.push({
        key: budgetKey(budget, subject, window.start),
        limit: budget.mode === 'hard' ? Math.round(budget.amountUsd * 1e9) : -1,
        amount: lease.costReserve,
        mode: 'hold',
        ttlMs: window.end - now + DAY,
      });
      meta.push({ kind: 'budget', budget, subject, start: window.start, end: window.end });
    }
    await this.reserve(lease, ops, meta, now);
    return lease.attach();
  }

  /** Predict (MLflow scoring) requests: request-rate limits and concurrency caps only (no tokens, no prices). */
  async admitPredict(
    entry: { name: string; limit: EndpointLimit | null },
    reply: FastifyReply,
    record: InvocationRecord,
  ): Promise<Lease> {
    let own = this.predictRules.get(entry);
    if (!own) {
      const rule = mlflowRule(entry.name, entry.limit, entry.name, []);
      own = rule ? [rule] : [];
      this.predictRules.set(entry, own);
    }
    const lease = new Lease(this, record, reply, undefined, 'predict', undefined);
    const rules = matching([...own, ...this.catalog.rules], reply.request.principal, entry.name).filter(
      (r) => r.item.metric !== 'tokens',
    );
    if (rules.length === 0) return lease.attach();
    const now = Date.now();
    const ops: CounterOp[] = [];
    const meta: OpMeta[] = [];
    for (const { item: rule, subject } of rules) {
      if (rule.metric === 'concurrency') {
        ops.push({
          key: `c:${rule.id}:${subject}`,
          limit: rule.limit,
          amount: 1,
          mode: 'hold',
          ttlMs: this.config.LIMITS_HOLD_TTL_MS + 60_000,
        });
        meta.push({ kind: 'rule', rule, end: now + 1000 });
      } else {
        const window = rateWindow(rule.windowMs!, now);
        ops.push({
          key: `r:${rule.id}:${subject}:${window.start}`,
          limit: rule.limit,
          amount: 1,
          mode: 'add',
          ttlMs: window.end - now + 60_000,
        });
        meta.push({ kind: 'rule', rule, end: window.end });
      }
    }
    await this.reserve(lease, ops, meta, now);
    return lease.attach();
  }

  private async reserve(lease: Lease, ops: CounterOp[], meta: OpMeta[], now: number): Promise<void> {
    let store: CounterStore = this.backend.primary;
    let used = ops;
    let usedMeta = meta;
    let result: Awaited<ReturnType<CounterStore['reserve']>> | undefined;
    if (this.backend.available) {
      try {
        result = await store.reserve(lease.id, ops, now, this.config.LIMITS_HOLD_TTL_MS);
      } catch (error) {
        this.backend.markFailed(error);
      }
    }
    if (!result) {
      // Redis unreachable: budgets fail closed; rate limits and caps fall back to per-replica counters.
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
      result = await store.reserve(lease.id, used, now, this.config.LIMITS_HOLD_TTL_MS);
    }
    if (!result.ok) {
      throw refusal(usedMeta[result.index], used[result.index], result.state, used, usedMeta, now);
    }
    lease.store = store;
    lease.ops = used;
    lease.meta = usedMeta;
    const headers = rateLimitHeaders(used, usedMeta, result.after, now);
    for (const [name, value] of Object.entries(headers)) void lease.reply.header(name, value);
  }

  /** Releases holds and applies the real usage (best effort: counters and holds expire by themselves). */
  async settle(lease: Lease, settlements: CounterSettlement[], metas: OpMeta[]): Promise<void> {
    if (!lease.store || settlements.length === 0) return;
    const store = lease.store;
    try {
      const after = await store.settle(lease.id, settlements);
      for (let i = 0; i < metas.length; i++) {
        const m = metas[i];
        if (m.kind !== 'budget') continue;
        const amount = Math.round(m.budget.amountUsd * 1e9);
        if (
          after[i] >= amount &&
          (await store.once(`alert:${settlements[i].key}`, m.end - Date.now() + DAY))
        ) {
          this.alert(m, after[i]);
        }
      }
    } catch (error) {
      if (store === this.backend.primary && this.backend.distributed) this.backend.markFailed(error);
      this.logger.warn(`could not settle limits of ${lease.record.requestId}: ${(error as Error).message}`);
    }
  }

  /** Budget status: spent, reserved, remaining, resets_at. */
  async budgetStatus(
    budget: BudgetRule,
    subjectParam: string | undefined,
    now = Date.now(),
  ): Promise<BudgetStatus> {
    const subject = budget.scope === 'global' ? '*' : (budget.subject ?? subjectParam);
    if (!subject) {
      throw GatewayException.invalid(
        `Budget '${budget.name}' applies to each ${budget.scope} separately: give ?subject=<${budget.scope}>.`,
        'subject',
      );
    }
    const window = budgetWindow(budget.period, now);
    const store = this.backend.primary;
    let state: CounterState;
    if (!this.backend.available) throw unavailable();
    try {
      state = await store.read(budgetKey(budget, subject, window.start), now);
    } catch (error) {
      this.backend.markFailed(error);
      throw unavailable();
    }
    const spent = state.used / 1e9;
    const reserved = state.held / 1e9;
    return {
      subject,
      spentUsd: spent,
      reservedUsd: reserved,
      remainingUsd: Math.max(0, budget.amountUsd - spent - reserved),
      windowStart: new Date(window.start).toISOString(),
      resetsAt: new Date(window.end).toISOString(),
    };
  }

  private alert(meta: Extract<OpMeta, { kind: 'budget' }>, usedNano: number): void {
    const b = meta.budget;
    const event: BudgetExceededEvent = {
      budgetId: b.id,
      name: b.name,
      mode: b.mode,
      subject: meta.subject,
      period: b.period,
      amountUsd: b.amountUsd,
      spentUsd: usedNano / 1e9,
      windowStart: new Date(meta.start).toISOString(),
      resetsAt: new Date(meta.end).toISOString(),
    };
    this.logger.warn(
      `budget '${b.name}' (${b.mode}) reached for ${meta.subject}: $${event.spentUsd.toFixed(6)} of $${b.amountUsd}`,
    );
    try {
      this.events.emit(BUDGET_EXCEEDED, event);
    } catch (error) {
      this.logger.error(`budget listener failed: ${(error as Error).message}`);
    }
    if (b.alertWebhookUrl) {
      fetch(b.alertWebhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: BUDGET_EXCEEDED, ...event }),
        signal: AbortSignal.timeout(this.config.LIMITS_ALERT_TIMEOUT_MS),
      }).catch((error: unknown) =>
        this.logger.warn(
          `budget alert webhook failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }
  }
}

export interface BudgetStatus {
  subject: string;
  spentUsd: number;
  reservedUsd: number;
  remainingUsd: number;
  windowStart: string;
  resetsAt: string;
}

/**
 * One request's reservation. `finish()` runs once, when the response socket closes (before the
 * INVOCATION_FINISHED listeners: it is prepended to them), so `record.costUsd` is final for the ledger.
 */
export class Lease {
  private reservationId: string | undefined;
  readonly tally = new StreamTally();
  promptEstimate = 0;
  completionReserve = 0;
  costReserve = 0;
  store: CounterStore | undefined;
  ops: CounterOp[] = [];
  meta: OpMeta[] = [];
  private done = false;

  constructor(
    private readonly service: LimitsService,
    readonly record: InvocationRecord,
    readonly reply: FastifyReply,
    private readonly price: Price | undefined,
    private readonly op: Operation | 'predict',
    private readonly request: CanonicalRequest | undefined,
  ) {}

  /** Names this reservation's holds in the counters (made only for requests that reserve something). */
  get id(): string {
    return (this.reservationId ??= randomUUID());
  }

  attach(): this {
    this.reply.raw.prependOnceListener('close', () => this.finish());
    return this;
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    const record = this.record;
    let prompt = 0;
    let completion = 0;
    if (!record.cacheHit && this.op !== 'predict') {
      if (record.completionTokens === undefined && !this.tally.empty) {
        // The stream reported no usage: count what was streamed and estimate the prompt.
        record.completionTokens = this.tally.count();
        record.promptTokens ??= this.prompt();
        record.tokensEstimated = true;
      }
      prompt = record.promptTokens ?? 0;
      completion = record.completionTokens ?? 0;
      if (this.price) {
        record.costUsd =
          (nanoUsd(prompt, this.price.inputPerMillion) + nanoUsd(completion, this.price.outputPerMillion)) /
          1e9;
      }
    } else if (record.cacheHit && this.price) {
      record.costUsd = 0;
    }
    if (!this.store) return;
    const actualNano = Math.round((record.costUsd ?? 0) * 1e9);
    const settlements: CounterSettlement[] = [];
    const metas: OpMeta[] = [];
    this.ops.forEach((op, i) => {
      const m = this.meta[i];
      if (m.kind === 'budget') {
        settlements.push({ key: op.key, held: op.amount, usedDelta: actualNano, ttlMs: op.ttlMs });
      } else if (m.rule.metric === 'concurrency') {
        settlements.push({ key: op.key, held: 1, usedDelta: 0, ttlMs: op.ttlMs });
      } else if (m.rule.metric === 'tokens') {
        const delta = prompt + completion - op.amount;
        if (delta === 0) return;
        settlements.push({ key: op.key, held: 0, usedDelta: delta, ttlMs: op.ttlMs });
      } else return;
      metas.push(m);
    });
    void this.service.settle(this, settlements, metas);
  }

  private prompt(): number {
    if (this.promptEstimate > 0 || !this.request || this.op === 'predict') return this.promptEstimate;
    const counter = this.tally.counter ?? approximate;
    return countPrompt(this.op, this.request, counter);
  }
}

const approximate = new MessageCounter(
  (text) => Math.ceil(text.length / 3),
  (text, max) => text.slice(0, max * 3),
);

function budgetKey(budget: BudgetRule, subject: string, start: number): string {
  return `b:${budget.id}:${subject}:${start}`;
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

function matching<T extends { scope: LimitScope; subject: string | null; endpoint: string | null }>(
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

function countPrompt(op: Operation | 'predict', request: CanonicalRequest, counter: MessageCounter): number {
  if (op === 'chat') return counter.messages((request as ChatRequest).messages ?? []);
  if (op === 'completions') {
    const prompt = (request as CompletionsRequest).prompt;
    return (Array.isArray(prompt) ? prompt : [prompt]).reduce((sum, p) => sum + counter.text(String(p)), 0);
  }
  const input = (request as EmbeddingsRequest).input;
  if (typeof input === 'string') return counter.text(input);
  if (!Array.isArray(input)) return 0;
  return (input as unknown[]).reduce<number>(
    (sum, item) =>
      sum +
      (typeof item === 'string'
        ? counter.text(item)
        : typeof item === 'number'
          ? 1
          : Array.isArray(item)
            ? item.length
            : 0),
    0,
  );
}

function completionCap(request: CanonicalRequest, fallback: number): number {
  const r = request as { max_tokens?: unknown; max_completion_tokens?: unknown; n?: unknown };
  const max = [r.max_completion_tokens, r.max_tokens].find((v): v is number => typeof v === 'number');
  const n = typeof r.n === 'number' && r.n > 1 ? r.n : 1;
  return (max ?? fallback) * n;
}

function unavailable(): GatewayException {
  return new GatewayException(
    503,
    GatewayErrorCode.LimitsUnavailable,
    'Budget counters are unavailable right now.',
    {
      retryAfter: '1',
    },
  );
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
function rateLimitHeaders(
  ops: CounterOp[],
  meta: OpMeta[],
  after: CounterState[],
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
