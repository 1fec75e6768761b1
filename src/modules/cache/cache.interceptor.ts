import { Injectable } from '@nestjs/common';
import { Telemetry } from 'src/common/observability/telemetry';
import { CacheLookup } from 'src/modules/cache/cache-lookup';
import { CacheService } from 'src/modules/cache/cache.service';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { Operation } from 'src/modules/providers/provider-adapter';
import { fallbackChain } from 'src/modules/routing/traffic/attempt-chain';

/**
 * The response cache, the last stage before the upstream call: an exact-match lookup under the tenant
 * scope, the endpoint (or predict endpoint and its registry version) and the request as it would go
 * upstream; identical concurrent requests share one upstream call (single-flight); a JSON entry replays
 * as a stream and the reverse. A fallback's answer is stored under the fallback's own entry. The answer
 * is stored once the invocation is over, and only if no guardrail flagged it (`ctx.cacheable`).
 */
@Injectable()
export class CacheInterceptor extends StageInterceptor {
  constructor(
    private readonly cache: CacheService,
    private readonly telemetry: Telemetry,
  ) {
    super();
  }

  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    return ctx.model ? this.prediction(ctx, next) : this.llm(ctx, next);
  }

  private async llm(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const endpoint = ctx.endpoint!;
    const op = ctx.operation as Operation;
    const request = ctx.request!;
    // A conversation turn is never answered from the cache: its reply must be generated and stored.
    // A call the gateway answers itself (a token count) has no upstream answer to look up or keep.
    if (ctx.conversationId !== undefined || ctx.answer !== 'upstream') return next();
    const lookup = await this.telemetry.phase('cache', ctx.record, () =>
      this.cache.lookup({ op, request, endpoint, caller: ctx }),
    );
    const cached = this.begin(ctx, lookup);
    if (cached.hit) {
      return ctx.stream
        ? { kind: 'stream', chunks: cached.replayChunks() }
        : { kind: 'response', response: cached.replayResponse() };
    }
    const result = await next();
    const answeredBy = ctx.record.answeredBy;
    if (cached.storing && answeredBy !== undefined && answeredBy !== endpoint.name) {
      // A fallback answered: its answer belongs under the fallback's own key, policy and TTL.
      const route = ctx.route?.endpointType === 'ml/v1/predict' ? undefined : ctx.route;
      const answerer = fallbackChain(endpoint, route?.fallbacks).find((e) => e.name === answeredBy);
      cached.redirect(
        answerer ? this.cache.fillerFor({ op, request, endpoint: answerer, caller: ctx }) : undefined,
      );
    }
    if (result.kind === 'stream') return { kind: 'stream', chunks: cached.capture(result.chunks) };
    if (result.kind === 'response') return { kind: 'response', response: cached.fill(result.response) };
    return result;
  }

  private async prediction(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const model = ctx.model!;
    const target = model.target;
    // An endpoint with no routable version has nothing to key its entries on.
    if (!target || !ctx.scoring) return next();
    const keyBody = ctx.scoring.keyBody;
    const lookup = await this.telemetry.phase('cache', ctx.record, () =>
      this.cache.lookupPrediction({
        endpoint: { name: model.name, cache: model.cache },
        registeredModel: model.registeredModel,
        version: target.version,
        body: keyBody,
        caller: ctx,
      }),
    );
    const cached = this.begin(ctx, lookup);
    if (cached.hit) return { kind: 'prediction', json: cached.replayPrediction() };
    const result = await next();
    if (result.kind !== 'prediction') return result;
    const answeredBy = ctx.record.answeredBy;
    if (cached.storing && answeredBy !== undefined && answeredBy !== model.name) {
      const route = ctx.route?.endpointType === 'ml/v1/predict' ? ctx.route : undefined;
      const answerer = fallbackChain(model, route?.fallbacks).find((e) => e.name === answeredBy);
      const version = answerer?.target?.version;
      cached.redirect(
        answerer && version
          ? this.cache.predictionFillerFor({
              endpoint: { name: answerer.name, cache: answerer.cache },
              registeredModel: answerer.registeredModel,
              version,
              body: keyBody,
              caller: ctx,
            })
          : undefined,
      );
    }
    return { kind: 'prediction', json: cached.fillPrediction(result.json) };
  }

  private begin(ctx: InvocationContext, lookup: CacheLookup): CacheLookup {
    ctx.record.cacheHit = lookup.hit;
    lookup.headers((name, value) => ctx.header(name, value));
    // Stored (or waiting identical requests released) once the invocation is over and the guardrails
    // have had their say on the answer.
    ctx.onFinish(() => lookup.release(ctx.cacheable));
    return lookup;
  }
}
