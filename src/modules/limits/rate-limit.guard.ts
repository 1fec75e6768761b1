import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
} from '@nestjs/throttler';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { matching, rateLimitHeaders } from 'src/modules/limits/limit-counters.service';
import { LimitRule, mlflowRule } from 'src/modules/limits/limit-rules';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { LimitsThrottlerStorage } from 'src/modules/limits/limits-throttler.storage';
import { InvocationContext, invocationContextOf } from 'src/modules/pipeline/invocation-context';

const ADMITTED = Promise.resolve(true);

interface RefusedDetail extends ThrottlerLimitDetail {
  refusal: GatewayException;
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
    const ctx = invocationContextOf(context);
    const applicable = this.rules.of(ctx);
    if (!applicable) return ADMITTED;
    const hits = matching(applicable.rules, ctx.principal, applicable.endpoint).filter(
      (hit) => hit.item.metric === 'requests',
    );
    // Most requests meet no request-rate rule: no storage call, no new promise.
    if (hits.length === 0) return ADMITTED;
    return this.admit(context, ctx, hits);
  }

  private async admit(
    context: ExecutionContext,
    ctx: InvocationContext,
    hits: ReturnType<typeof matching<LimitRule>>,
  ): Promise<boolean> {
    const now = Date.now();
    let admitted;
    try {
      admitted = await this.counters.admitAll(
        hits.map(({ item, subject }) => ({ rule: item, subject })),
        now,
      );
    } catch (error) {
      if (!(error instanceof GatewayException) || error.status !== 429) throw error;
      const detail: RefusedDetail = {
        refusal: error,
        ttl: 0,
        limit: 0,
        key: '',
        tracker: ctx.principal?.id ?? '',
        totalHits: 0,
        timeToExpire: Number(error.options.retryAfter ?? 1),
        isBlocked: true,
        timeToBlockExpire: Number(error.options.retryAfter ?? 1),
      };
      await this.throwThrottlingException(context, detail);
      return false;
    }
    const headers = rateLimitHeaders(admitted.ops, admitted.meta, admitted.after, now);
    for (const name in headers) ctx.header(name, headers[name]);
    return true;
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    if ('refusal' in detail) throw (detail as RefusedDetail).refusal;
    return super.throwThrottlingException(context, detail);
  }
}
