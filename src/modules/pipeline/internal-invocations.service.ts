import { Injectable } from '@nestjs/common';
import { Principal } from 'src/common/auth/principal';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { InvocationRecord } from 'src/common/observability/invocation';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { CacheInterceptor } from 'src/modules/cache/cache.interceptor';
import { LimitsInterceptor } from 'src/modules/limits/limits.interceptor';
import { TracingInterceptor } from 'src/modules/observability/tracing/tracing.interceptor';
import {
  InvocationContext,
  InvocationResult,
  InvocationStage,
  StageNext,
} from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import {
  ChatCompletion,
  ChatRequest,
  Embeddings,
  EmbeddingsRequest,
} from 'src/modules/providers/provider-adapter';
import { EndpointEntry, RouteTable } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';

/** The caller's request an internal call serves: it is charged for it and its ledger row links to it. */
export interface InvocationParent {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  readonly record?: InvocationRecord;
}

/** Why the gateway made a call on a caller's behalf (the ledger's `purpose`). */
export type InternalPurpose =
  | 'guardrail_judge'
  | 'moderation_model'
  | 'summary'
  /** Document chunks embedded into a knowledge base. */
  | 'kb_ingest'
  /** A search or RAG question embedded to query a knowledge base. */
  | 'kb_query'
  /** A chat request's messages embedded for the semantic cache. */
  | 'semantic_cache';

/**
 * Calls the gateway makes on a caller's behalf — a guardrail's LLM judge, a moderation model, the
 * conversation summariser — run through the same pipeline stages as the caller's own request, in the
 * same order: tracing (a span under the caller's), the caller's token limits, concurrency caps and
 * budgets (reserved and settled), the cache, and a usage-ledger row of their own that names the caller's
 * request (`parent_id`) and why it was made (`purpose`). Grants and request-rate limits are not applied
 * (the gateway's own policy chose the endpoint, not the caller), nor guardrails (the call is one).
 */
@Injectable()
export class InternalInvocations {
  private readonly stages: readonly InvocationStage[];

  constructor(
    private readonly tracker: InvocationTracker,
    private readonly routing: RoutingService,
    private readonly dispatcher: InvocationDispatcher,
    tracing: TracingInterceptor,
    limits: LimitsInterceptor,
    cache: CacheInterceptor,
  ) {
    // The subset of the pipeline's stages that applies here, in the pipeline's order (see stages.ts).
    this.stages = [tracing, limits, cache];
  }

  /** A chat call to `endpointName` (an endpoint or a traffic route) for the parent's caller. */
  async chat(
    parent: InvocationParent,
    purpose: InternalPurpose,
    endpointName: string,
    request: ChatRequest,
    signal: AbortSignal,
  ): Promise<ChatCompletion> {
    const ctx = this.begin(parent, purpose, endpointName, 'chat', signal);
    ctx.request = request;
    ctx.body = request;
    const result = await this.run(ctx, () => this.dispatcher.dispatch(ctx));
    return (result as Extract<InvocationResult, { kind: 'response' }>).response as ChatCompletion;
  }

  /** An embeddings call to `endpointName` (an embeddings endpoint or route) for the parent's caller. */
  async embeddings(
    parent: InvocationParent,
    purpose: InternalPurpose,
    endpointName: string,
    request: EmbeddingsRequest,
    signal: AbortSignal,
  ): Promise<Embeddings> {
    const ctx = this.begin(parent, purpose, endpointName, 'embeddings', signal);
    ctx.request = request;
    ctx.body = request;
    const result = await this.run(ctx, () => this.dispatcher.dispatch(ctx));
    return (result as Extract<InvocationResult, { kind: 'response' }>).response as Embeddings;
  }

  /**
   * Any other upstream call on `endpointName` for the parent's caller (a moderation model's
   * `/moderations`): traced, under the caller's concurrency caps and budgets, with a ledger row.
   */
  async call<T>(
    parent: InvocationParent,
    purpose: InternalPurpose,
    endpointName: string,
    signal: AbortSignal,
    fn: (endpoint: EndpointEntry, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ctx = this.begin(parent, purpose, endpointName, 'moderations', signal);
    let value: T | undefined;
    // Tracing and limits apply; there is no canonical request to key a cache entry on.
    await this.run(
      ctx,
      async () => {
        value = await fn(ctx.endpoint!, ctx.signal);
        return { kind: 'prediction', json: '' };
      },
      2,
    );
    return value as T;
  }

  private begin(
    parent: InvocationParent,
    purpose: InternalPurpose,
    endpointName: string,
    op: 'chat' | 'embeddings' | 'moderations',
    signal: AbortSignal,
  ): InvocationContext {
    const entry = this.routing.resolve(endpointName);
    const record = this.tracker.begin({
      requestId: parent.requestId,
      surface: 'internal',
      principal: parent.principal,
      parent: parent.record,
      purpose,
    });
    record.requested = endpointName;
    record.operation = op;
    const ctx = new InvocationContext({
      requestId: parent.requestId,
      principal: parent.principal,
      headers: {},
      source: undefined,
      surface: 'internal',
      op,
      record,
      body: undefined,
      signal,
    });
    const wanted = op === 'chat' ? 'llm/v1/chat' : op === 'embeddings' ? 'llm/v1/embeddings' : undefined;
    if (!entry || (wanted !== undefined && entry.endpointType !== wanted)) {
      this.tracker.finish(record, 503, true, () => ctx.finish());
      throw new GatewayException(
        503,
        GatewayErrorCode.UpstreamUnavailable,
        `The endpoint '${endpointName.slice(0, 128)}' the gateway calls for ${purpose.replaceAll('_', ' ')} is not available.`,
      );
    }
    const endpoint = RouteTable.pick(entry);
    ctx.entry = entry;
    ctx.endpoint = endpoint;
    if (entry.kind === 'route') {
      ctx.route = entry;
      record.route = entry.name;
    }
    record.endpoint = endpoint.name;
    record.provider = endpoint.provider;
    record.model = endpoint.modelName;
    return ctx;
  }

  /** Runs the first `count` stages around `handler`; the record is emitted when the call settles. */
  private async run(
    ctx: InvocationContext,
    handler: StageNext,
    count = this.stages.length,
  ): Promise<InvocationResult> {
    const stages = this.stages.slice(0, count);
    const next = (index: number): Promise<InvocationResult> =>
      index < stages.length ? stages[index].around(ctx, () => next(index + 1)) : handler();
    let status = 200;
    try {
      return await next(0);
    } catch (error) {
      status = error instanceof GatewayException ? error.status : 500;
      ctx.record.errorCode = error instanceof GatewayException ? error.code : GatewayErrorCode.Internal;
      throw error;
    } finally {
      this.tracker.finish(ctx.record, status, !ctx.signal.aborted || status !== 200, () => ctx.finish());
    }
  }
}
