import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InvocationRecord } from 'src/common/observability/invocation';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { nanoUsd } from 'src/modules/limits/pricing/price-catalog';
import { MessageCounter, TokenCounter } from 'src/modules/tokens/token-counter';
import { CounterOp, CounterSettlement, CounterStore } from 'src/modules/limits/counter.store';
import { LimitCounters, matching, OpMeta, rateLimitHeaders } from 'src/modules/limits/limit-counters.service';
import { LimitRule, Price } from 'src/modules/limits/limit-rules';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { BudgetRule } from 'src/modules/limits/limits.repository';
import { InvocationRules } from 'src/modules/limits/rate-limit.guard';
import { ruleKey } from 'src/modules/limits/limits-throttler.storage';
import { StreamTally } from 'src/modules/limits/stream-tally';
import { budgetWindow, rateWindow } from 'src/modules/limits/windows';
import type { InvocationContext, InvocationOp } from 'src/modules/pipeline/invocation-context';
import {
  CanonicalRequest,
  ChatRequest,
  CompletionsRequest,
  EmbeddingsRequest,
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

const DAY = 86_400_000;
const REPORTS_STREAM_USAGE = new Set(['openai', 'azure', 'anthropic', 'cohere', 'mistral']);

/**
 * Admission and settlement of one request: rate limits, token limits, concurrency caps and USD budgets
 * reserved in one atomic step before the upstream call, settled with the real usage when the response is
 * over. A request no limit or budget applies to makes no Redis call at all.
 */
@Injectable()
export class LimitsService {
  private readonly logger = new Logger('Limits');
  private readonly rules: InvocationRules;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly counters: LimitCounters,
    private readonly catalog: LimitsCatalogService,
    private readonly tokens: TokenCounter,
    private readonly events: EventEmitter2,
    private readonly http: UpstreamHttpClient,
  ) {
    this.rules = new InvocationRules(catalog);
  }

  /**
   * Token limits, concurrency caps and USD budgets of one invocation (LLM or predict), reserved in one
   * atomic step before the upstream call; the lease settles with the real usage once the invocation is
   * over (answered, failed or abandoned). Request-rate limits were admitted earlier (RateLimitGuard).
   * Throws 429/503 when refused; sets the tokens' `x-ratelimit-*` headers otherwise.
   */
  async reserve(ctx: InvocationContext): Promise<Lease> {
    const record = ctx.record;
    const op = ctx.operation!;
    const applicable = this.rules.of(ctx);
    const endpoint = ctx.endpoint;
    const now = Date.now();
    const lookup = endpoint
      ? this.catalog.price(endpoint.provider, endpoint.modelName, endpoint.limits?.price, now)
      : undefined;
    const lease = new Lease(this, record, lookup?.price, op, ctx.request);
    ctx.onFinish(() => lease.finish());
    if (endpoint && record.stream && !REPORTS_STREAM_USAGE.has(endpoint.provider)) {
      // Loaded in the background (once per process): a stream without usage is counted with it once ready.
      // OpenAI (we always ask for include_usage), Azure, Anthropic, Cohere and Mistral report usage, so they never need it.
      void this.tokens
        .counterFor(TokenCounter.choose(endpoint.provider, endpoint.modelName))
        .then((counter) => (lease.tally.counter = counter))
        .catch(() => undefined);
    }
    if (!applicable) return lease;
    const rules = matching(applicable.rules, ctx.principal, applicable.endpoint).filter(
      (r) => r.item.metric !== 'requests' && (endpoint !== undefined || r.item.metric === 'concurrency'),
    );
    // Predict calls have no price: budgets do not apply to them.
    const budgets = endpoint ? matching(this.catalog.budgets, ctx.principal, applicable.endpoint) : [];
    if (rules.length === 0 && budgets.length === 0) return lease;
    if (endpoint && ctx.request && (budgets.length > 0 || rules.some((r) => r.item.metric === 'tokens'))) {
      const counter = await this.tokens.counterFor(
        TokenCounter.choose(endpoint.provider, endpoint.modelName),
      );
      lease.promptEstimate = countPrompt(op, ctx.request, counter);
      lease.completionReserve =
        op === 'embeddings' ? 0 : completionCap(ctx.request, this.config.LIMITS_DEFAULT_MAX_TOKENS);
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
          key: concurrencyKey(rule, subject),
          limit: rule.limit,
          amount: 1,
          mode: 'hold',
          ttlMs: this.config.LIMITS_HOLD_TTL_MS + 60_000,
        });
        meta.push({ kind: 'rule', rule, end: now + 1000 });
        continue;
      }
      const window = rateWindow(rule.windowMs!, now);
      ops.push({
        key: ruleKey(rule, subject, window.start),
        limit: rule.limit,
        amount: tokens,
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
    const admitted = await this.counters.reserve(lease.id, ops, meta, now);
    lease.store = admitted.store;
    lease.ops = admitted.ops;
    lease.meta = admitted.meta;
    const headers = rateLimitHeaders(admitted.ops, admitted.meta, admitted.after, now);
    for (const name in headers) ctx.header(name, headers[name]);
    return lease;
  }

  /** Releases holds and applies the real usage (best effort: counters and holds expire by themselves). */
  async settle(lease: Lease, settlements: CounterSettlement[], metas: OpMeta[]): Promise<void> {
    if (!lease.store || settlements.length === 0) return;
    const store = lease.store;
    const after = await this.counters.settle(store, lease.id, settlements, lease.record.requestId);
    if (!after) return;
    for (let i = 0; i < metas.length; i++) {
      const m = metas[i];
      if (m.kind !== 'budget') continue;
      const amount = Math.round(m.budget.amountUsd * 1e9);
      if (
        after[i] >= amount &&
        (await this.counters.once(store, `alert:${settlements[i].key}`, m.end - Date.now() + DAY))
      ) {
        this.alert(m, after[i]);
      }
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
    const state = await this.counters.read(budgetKey(budget, subject, window.start), now);
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

  /**
   * A limit's counter for one subject as it stands: requests or tokens counted in the current window
   * (with the window's start and end), or the requests in flight under a concurrency cap.
   */
  async ruleUsage(rule: LimitRule, subject: string, now = Date.now()): Promise<RuleUsage> {
    if (rule.metric === 'concurrency') {
      const state = await this.counters.read(concurrencyKey(rule, subject), now);
      return { subject, used: state.held, windowStart: null, resetsAt: null };
    }
    const window = rateWindow(rule.windowMs!, now);
    const state = await this.counters.read(ruleKey(rule, subject, window.start), now);
    return {
      subject,
      used: state.used + state.held,
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
    if (b.alertWebhookUrl) void this.deliverAlert(b.alertWebhookUrl, event);
  }

  /**
   * Webhook URLs are written through the admin API: the allow-listed pool (UPSTREAM_ALLOWED_HOSTS,
   * checked on every connection) and never a redirect (the client does not follow them).
   */
  private async deliverAlert(url: string, event: BudgetExceededEvent): Promise<void> {
    try {
      const response = await this.http.fetchText(
        {
          url,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: BUDGET_EXCEEDED, ...event }),
        },
        { signal: AbortSignal.timeout(this.config.LIMITS_ALERT_TIMEOUT_MS), restricted: true },
      );
      if (response.status >= 300) {
        this.logger.warn(
          `budget alert webhook answered HTTP ${response.status} (redirects are not followed)`,
        );
      }
    } catch (error) {
      this.logger.warn(
        `budget alert webhook failed: ${error instanceof Error ? error.message : String(error)}`,
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

export interface RuleUsage {
  subject: string;
  /** Requests or tokens counted in the window; requests in flight for a concurrency cap. */
  used: number;
  /** Null for concurrency caps, which have no window. */
  windowStart: string | null;
  resetsAt: string | null;
}

/**
 * One invocation's reservation. `finish()` runs once, when the invocation is over (before its record is
 * emitted), so `record.costUsd` is final for the ledger.
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
    private readonly price: Price | undefined,
    private readonly op: InvocationOp,
    private readonly request: CanonicalRequest | undefined,
  ) {}

  /** Names this reservation's holds in the counters (made only for requests that reserve something). */
  get id(): string {
    return (this.reservationId ??= randomUUID());
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

function concurrencyKey(rule: LimitRule, subject: string): string {
  return `c:${rule.id}:${subject}`;
}

function budgetKey(budget: BudgetRule, subject: string, start: number): string {
  return `b:${budget.id}:${subject}:${start}`;
}

function countPrompt(op: InvocationOp, request: CanonicalRequest, counter: MessageCounter): number {
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
