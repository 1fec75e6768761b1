import { Injectable } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { CsvBody } from 'src/common/http/csv-body';
import { ModelServingService } from 'src/modules/registry/model-serving.service';
import { RequestValidationError, validateRequest } from 'src/modules/inference/request-validation';
import { writeSse } from 'src/modules/inference/sse-writer';
import { toMlflowResponse } from 'src/modules/inference/mlflow-response';
import {
  CanonicalChunk,
  CanonicalRequest,
  ChatRequest,
  EndpointType,
  OPERATION_OF,
  Operation,
} from 'src/modules/providers/provider-adapter';
import { EndpointEntry, RouteEntry, RouteTable, TrafficRouteEntry } from 'src/modules/routing/route-table';
import { fallbackChain } from 'src/modules/routing/traffic/attempt-chain';
import { RoutingService } from 'src/modules/routing/routing.service';
import { AccessService } from 'src/modules/auth/access.service';
import { CacheLookup } from 'src/modules/cache/cache-lookup';
import { CacheRequest, CacheService } from 'src/modules/cache/cache.service';
import { ModerationService } from 'src/modules/moderation/moderation.service';
import { PromptService } from 'src/modules/prompts/prompt.service';
import { ConversationService } from 'src/modules/conversations/conversation.service';
import { InvocationRecord } from 'src/common/observability/invocation';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { Telemetry } from 'src/common/observability/telemetry';
import { LimitsService } from 'src/modules/limits/limits.service';

/**
 * The surfaces differ only at the edges: how the endpoint is named, how errors look, whether a stream
 * ends with [DONE]. `openai` = /v1/*; `mlflow` = MLflow's legacy YAML gateway paths; `mlflow-v3` = the
 * 3.x tracking-server gateway paths.
 */
export type Surface = 'openai' | 'mlflow' | 'mlflow-v3';

export interface InvocationInput {
  surface: Surface;
  /** The operation the path implies; undefined when the endpoint's own type decides (MLflow invocations). */
  op: Operation | undefined;
  name: string | undefined;
  body: Record<string, unknown>;
}

const TYPE_NAME: Record<Operation, string> = {
  chat: 'a chat',
  completions: 'a completions',
  embeddings: 'an embeddings',
};

@Injectable()
export class InferenceService {
  constructor(
    private readonly routing: RoutingService,
    private readonly access: AccessService,
    private readonly cache: CacheService,
    private readonly moderation: ModerationService,
    private readonly modelServing: ModelServingService,
    private readonly prompts: PromptService,
    private readonly conversations: ConversationService,
    private readonly tracker: InvocationTracker,
    private readonly telemetry: Telemetry,
    private readonly limits: LimitsService,
  ) {}

  async invoke(input: InvocationInput, reply: FastifyReply): Promise<void> {
    const model = input.name === undefined ? undefined : this.modelServing.byName(input.name);
    if (model && input.op === undefined) {
      this.access.assertCanInvoke(reply.request, model.name);
      return this.modelServing.predict(model, input.body, reply);
    }
    const record = this.tracker.begin(reply, input.surface);
    record.requested = input.name;
    if (model)
      throw GatewayException.invalid(
        `Endpoint '${model.name}' is not ${TYPE_NAME[input.op!]} endpoint.`,
        'model',
      );
    if ((input.body as unknown) instanceof CsvBody) {
      throw new GatewayException(
        415,
        GatewayErrorCode.UnsupportedMediaType,
        "Unsupported Content-Type: send the request body as 'application/json'.",
      );
    }
    const entry = this.resolve(input);
    this.access.assertCanInvoke(reply.request, entry.name);
    const op = input.op ?? OPERATION_OF[entry.endpointType];
    record.operation = op;
    if (input.op && OPERATION_OF[entry.endpointType] !== input.op) {
      throw new GatewayException(
        400,
        GatewayErrorCode.WrongEndpointType,
        `Endpoint '${entry.name}' is not ${TYPE_NAME[input.op]} endpoint.`,
        { param: 'model' },
      );
    }
    // Grants may restrict a traffic route to some of its destinations.
    const endpoint = this.access.pick(reply.request, entry, Math.random, input.body);
    const route = entry.kind === 'route' ? entry : undefined;
    if (entry.kind === 'route') record.route = entry.name;
    record.endpoint = endpoint.name;
    record.provider = endpoint.provider;
    record.model = endpoint.modelName;
    // A template-bound endpoint renders its prompt first (per endpoint, so traffic splits A/B versions).
    const shaped = op === 'chat' ? this.prompts.apply(endpoint, input.body, reply) : input.body;
    const promptVersion = reply.getHeader('x-gatehouse-prompt-version');
    if (promptVersion !== undefined) {
      record.promptVersion = `${String(reply.getHeader('x-gatehouse-prompt'))}@${String(promptVersion)}`;
    }
    const canonical = validateFor(input.surface, op, shaped);
    record.stream = canonical.stream === true && op !== 'embeddings';
    // Conversation context and window discipline (DB access only for requests with a conversation id).
    const session =
      op === 'chat' ? await this.conversations.prepare(endpoint, canonical as ChatRequest, reply) : undefined;
    const controller = new AbortController();
    let closed = false;
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) {
        closed = true;
        controller.abort();
      }
    });
    reply.header('x-gatehouse-endpoint', endpoint.name);
    // Rate limits, token quotas and budgets: reserved here, settled when the response closes (a cache
    // hit counts as a request but refunds its tokens and cost).
    const lease = await this.telemetry.phase('limits', record, () =>
      this.limits.admit({ endpoint, op, request: canonical, reply, record }),
    );
    // Guardrails screen the whole rendered context. The cache is keyed on what would go upstream (the
    // redacted request) and holds answers as the upstream gave them, so reversible placeholders are
    // restored per caller on a hit too; the conversation stores what its caller actually saw.
    const guard = await this.telemetry.phase('moderation', record, () =>
      this.moderation.screenInput({
        endpoint,
        op,
        request: canonical,
        principal: reply.request.principal,
        requestId: String(reply.request.id),
        signal: controller.signal,
        record,
      }),
    );
    // A conversation turn is never answered from the cache: its reply must be generated and stored.
    const cached = session
      ? CacheLookup.off()
      : await this.telemetry.phase('cache', record, () =>
          this.cache.lookup({ op, request: guard.request, endpoint, http: reply.request }),
        );
    record.cacheHit = cached.hit;
    try {
      cached.attach(reply);
      if (record.stream) {
        const source = cached.hit
          ? cached.replayChunks()
          : cached.capture(
              this.cacheUnderAnswerer(
                cached,
                await announceTarget(
                  reply,
                  record,
                  this.telemetry.phase('routing', record, () =>
                    this.routing.openStream(op, guard.request, endpoint, controller.signal, record, route),
                  ),
                ),
                { op, request: guard.request, endpoint, http: reply.request },
                record,
                route,
              ),
            );
        const includeUsage =
          (canonical.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
        const screened = guard.guardStream(meterStream(source, record, lease.tally));
        await writeSse(
          reply,
          session ? session.track(screened) : screened,
          { includeUsage, emitDone: input.surface !== 'mlflow' },
          () => closed,
        );
        return;
      }
      const answered = cached.hit
        ? cached.replayResponse()
        : cached.fill(
            this.cacheUnderAnswerer(
              cached,
              await announceTarget(
                reply,
                record,
                this.telemetry.phase('routing', record, () =>
                  this.routing.invoke(op, guard.request, endpoint, controller.signal, record, route),
                ),
              ),
              { op, request: guard.request, endpoint, http: reply.request },
              record,
              route,
            ),
          );
      recordUsage(record, answered.usage);
      const response = await guard.screenOutput(answered);
      await session?.complete(response);
      const body = input.surface === 'openai' ? response : toMlflowResponse(op, response, endpoint.provider);
      void reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
    } finally {
      // Answers that a guardrail flagged or blocked are never cached.
      cached.release(guard.cacheable);
    }
  }

  /**
   * When a fallback answered, its answer is cached under the fallback's own entry (its key, policy and
   * TTL), never under the endpoint the request was routed to: once that endpoint is healthy again it
   * answers for itself. Returns the answer unchanged.
   */
  private cacheUnderAnswerer<T>(
    cached: CacheLookup,
    answer: T,
    lookup: CacheRequest,
    record: InvocationRecord,
    route: TrafficRouteEntry | undefined,
  ): T {
    const answeredBy = record.answeredBy;
    if (!cached.storing || answeredBy === undefined || answeredBy === lookup.endpoint.name) return answer;
    const answerer = fallbackChain(lookup.endpoint, route?.fallbacks).find((e) => e.name === answeredBy);
    cached.redirect(answerer ? this.cache.fillerFor({ ...lookup, endpoint: answerer }) : undefined);
    return answer;
  }

  private resolve(input: InvocationInput): RouteEntry {
    const name = input.name;
    if (name === undefined || name === '') {
      if (input.surface === 'mlflow-v3') {
        throw new GatewayException(
          400,
          GatewayErrorCode.InvalidRequest,
          "Missing required 'model' parameter in request body",
        );
      }
      throw new GatewayException(
        400,
        GatewayErrorCode.InvalidRequest,
        'You must provide a model parameter.',
        {
          param: 'model',
        },
      );
    }
    const entry = this.routing.resolve(name);
    if (entry) return entry;
    if (input.surface === 'openai') {
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `The model '${clipName(name)}' does not exist or you do not have access to it.`,
        { param: 'model' },
      );
    }
    if (input.surface === 'mlflow-v3') {
      throw new GatewayException(404, GatewayErrorCode.EndpointNotFound, 'Not Found', {
        mlflowDetail: {
          error_code: 'RESOURCE_DOES_NOT_EXIST',
          message: `GatewayEndpoint not found (name='${clipName(name)}')`,
        },
      });
    }
    throw new GatewayException(404, GatewayErrorCode.RouteNotFound, 'Not Found');
  }

  endpointTypeOf(name: string): EndpointType | undefined {
    return this.routing.resolve(name)?.endpointType;
  }

  endpoints(): readonly EndpointEntry[] {
    return this.routing.table().endpoints;
  }

  routes(): RouteTable['routes'] {
    return this.routing.table().routes;
  }
}

/** `x-gatehouse-target` / `x-gatehouse-attempts`: who answered (or failed last), after how many upstream calls. */
async function announceTarget<T>(
  reply: FastifyReply,
  record: InvocationRecord,
  call: Promise<T>,
): Promise<T> {
  try {
    return await call;
  } finally {
    if (record.target !== undefined && !reply.sent) {
      void reply
        .header('x-gatehouse-target', record.target)
        .header('x-gatehouse-attempts', String(record.attempts));
    }
  }
}

function recordUsage(
  record: InvocationRecord,
  usage: { prompt_tokens: number | null; completion_tokens?: number | null } | null | undefined,
): void {
  if (!usage) return;
  if (typeof usage.prompt_tokens === 'number') record.promptTokens = usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') record.completionTokens = usage.completion_tokens;
}

/**
 * Notes the time to the first chunk and the usage the stream reports, without touching the chunks; the
 * tally keeps the streamed text so completion tokens can be counted when the stream reports no usage.
 */
async function* meterStream(
  source: AsyncGenerator<CanonicalChunk>,
  record: InvocationRecord,
  tally?: { add(chunk: CanonicalChunk): void },
): AsyncGenerator<CanonicalChunk> {
  for await (const chunk of source) {
    record.ttftMs ??= performance.now() - record.startedHr;
    recordUsage(record, chunk.usage);
    tally?.add(chunk);
    yield chunk;
  }
}

function clipName(name: string): string {
  return name.length > 128 ? `${name.slice(0, 128)}…` : name;
}

const PAYLOAD_NAME: Record<Operation, string> = {
  chat: 'chat',
  completions: 'completions',
  embeddings: 'embeddings',
};

/** Same checks on every surface; MLflow's surfaces phrase the failure the way MLflow's servers do. */
function validateFor(surface: Surface, op: Operation, body: Record<string, unknown>): CanonicalRequest {
  try {
    return validateRequest(op, body);
  } catch (error) {
    if (!(error instanceof RequestValidationError) || surface === 'openai') throw error;
    const param = error.options.param ?? '';
    if (surface === 'mlflow-v3') {
      throw new GatewayException(
        400,
        GatewayErrorCode.InvalidRequest,
        `Invalid ${PAYLOAD_NAME[op]} payload: ${error.message}`,
        {
          param,
        },
      );
    }
    // The legacy YAML server is FastAPI: pydantic failures are 422 with a list of {type, loc, msg}.
    const loc = [
      'body',
      ...param
        .split(/[.[\]]+/)
        .filter(Boolean)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
    ];
    throw new GatewayException(400, GatewayErrorCode.InvalidRequest, error.message, {
      param,
      mlflowStatus: 422,
      mlflowDetail: [
        { type: 'value_error', loc, msg: error.message, input: param ? lookup(body, loc.slice(1)) : body },
      ],
    });
  }
}

function lookup(body: unknown, path: (string | number)[]): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return null;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current ?? null;
}
