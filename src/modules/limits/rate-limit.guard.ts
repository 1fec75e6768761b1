import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerModuleOptions,
} from '@nestjs/throttler';
import { matching, rateLimitHeaders } from 'src/modules/limits/limit-counters.service';
import { LimitRule, mlflowRule } from 'src/modules/limits/limit-rules';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { LimitsThrottlerStorage } from 'src/modules/limits/limits-throttler.storage';
import { InvocationContext, invocationContextOf } from 'src/modules/pipeline/invocation-context';

const ADMITTED = Promise.resolve(true);

/** The same rule (same id, so the same counter) with a smaller limit: a share of it. */
function scaled<T extends { item: LimitRule }>(hit: T, share: number): T {
  return { ...hit, item: { ...hit.item, limit: Math.max(1, Math.floor(hit.item.limit * share)) } };
}

/** The limit rules of the endpoint an invocation reached: its own (YAML, MLflow `limit:`) and the admin's. */
export class InvocationRules {
  private readonly predictRules = new WeakMap<object, LimitRule[]>();

  constructor(private readonly catalog: LimitsCatalogService) {}

  of(ctx: InvocationContext): { endpoint: string; rules: LimitRule[] } | undefined {
    const catalogRules = this.catalog.rules;
    if (ctx.endpoint) {
      const own = ctx.endpoint.limits?.rules;
      return {
        endpoint: ctx.endpoint.name,
        rules: own?.length ? [...own, ...catalogRules] : [...catalogRules],
      };
    }
    const model = ctx.model;
    if (!model) return undefined;
    let own = this.predictRules.get(model);
    if (!own) {
      const rule = mlflowRule(model.name, model.limit, model.name, []);
      own = rule ? [rule] : [];
      this.predictRules.set(model, own);
    }
    return { endpoint: model.name, rules: [...own, ...catalogRules] };
  }
}

/**
 * Request-rate limits, the pipeline's third stage: `@nestjs/throttler`'s guard on the gateway's own
 * counters. The throttler's guard loops over throttlers fixed at boot, one storage call each; a
 * gateway's request limits come from the live rule snapshot (per API key, principal, team, endpoint,
 * MLflow `limit:`), so this guard resolves the ones that apply to each request and admits them together
 * in one atomic storage call (exact across replicas). Refusals are 429 with `Retry-After` and OpenAI's
 * `x-ratelimit-*` headers; admitted requests carry the headers too. Token limits, concurrency caps and
 * budgets depend on the rendered request and are reserved later by the limits interceptor.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly rules: InvocationRules;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly counters: LimitsThrottlerStorage,
    reflector: Reflector,
    catalog: LimitsCatalogService,
  ) {
    super(options, counters, reflector);
    this.rules = new InvocationRules(catalog);
  }

  /** Limits come from the live rule snapshot per request: there are no throttlers fixed at boot. */
  override onModuleInit(): Promise<void> {
    this.throttlers = [];
    this.commonOptions = {};
    return Promise.resolve();
  }

  override canActivate(context: ExecutionContext): Promise<boolean> {
    return this.admitInvocation(invocationContextOf(context));
  }

  /**
   * The stage itself, on the invocation's context (batch lines reach it through PipelineInvoker).
   * `share` < 1 admits the request only while each counter is below that share of its limit: the
   * same counters as interactive calls, so background work leaves the rest of every limit to them.
   * Refusals throw the 429 GatewayException.
   */
  admitInvocation(ctx: InvocationContext, share = 1): Promise<boolean> {
    const applicable = this.rules.of(ctx);
    if (!applicable) return ADMITTED;
    const hits = matching(applicable.rules, ctx.principal, applicable.endpoint).filter(
      (hit) => hit.item.metric === 'requests',
    );
    // Most requests meet no request-rate rule: no storage call, no new promise.
    if (hits.length === 0) return ADMITTED;
    return this.admit(ctx, share === 1 ? hits : hits.map((hit) => scaled(hit, share)));
  }

  private async admit(
    ctx: InvocationContext,
    hits: ReturnType<typeof matching<LimitRule>>,
  ): Promise<boolean> {
    const now = Date.now();
    const admitted = await this.counters.admitAll(
      hits.map(({ item, subject }) => ({ rule: item, subject })),
      now,
    );
    const headers = rateLimitHeaders(admitted.ops, admitted.meta, admitted.after, now);
    for (const name in headers) ctx.header(name, headers[name]);
    return true;
  }
}
