import { AccessService } from 'src/modules/auth/access.service';
import { Injectable } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { CsvBody } from 'src/common/http/csv-body';
import { CacheService } from 'src/modules/cache/cache.service';
import { CacheLookup } from 'src/modules/cache/cache-lookup';
import { UpstreamHttpClient, UpstreamResponse } from 'src/infra/http/upstream-http.client';
import {
  ModelEndpointEntry,
  ModelServingTarget,
  PredictEntry,
  PredictRouteEntry,
  ServingInstance,
} from 'src/modules/routing/model-endpoint.entry';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { AttemptChain, fallbackChain } from 'src/modules/routing/traffic/attempt-chain';
import { parseRetryAfter } from 'src/modules/routing/traffic/backoff';
import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';
import {
  circuitOpenError,
  classifyScoringFailure,
  deadlineError,
  scoringError,
  transportError,
  unavailableError,
} from 'src/modules/registry/scoring-errors';
import { validateScoringBody } from 'src/modules/registry/scoring-protocol';
import { InvocationRecord } from 'src/common/observability/invocation';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { Telemetry } from 'src/common/observability/telemetry';
import { LimitsService } from 'src/modules/limits/limits.service';

/** A scoring answer and who gave it (the chosen endpoint, or a fallback). */
interface Answer {
  json: string;
  endpoint: ModelEndpointEntry;
  target: ModelServingTarget;
}

interface ScoringPayload {
  text: string;
  csv: boolean;
  /** The cache key material: the canonical JSON body, or the CSV text. */
  keyBody: { csv: string } | { json: unknown };
}

/**
 * Forwards MLflow scoring-protocol requests to the scoring server of the version an endpoint
 * resolves to right now, or, for an `ml/v1/predict` route, of the destination its split picks. The
 * entry is read once, so a request in flight during an alias move or a weight change finishes on the
 * version it started with. Retries, instances, breakers and fallbacks go through the same AttemptChain
 * as LLM endpoints.
 */
@Injectable()
export class ModelServingService {
  constructor(
    private readonly holder: RouteTableHolder,
    private readonly http: UpstreamHttpClient,
    private readonly access: AccessService,
    private readonly cache: CacheService,
    private readonly tracker: InvocationTracker,
    private readonly telemetry: Telemetry,
    private readonly chain: AttemptChain,
    private readonly limits: LimitsService,
  ) {}

  /** A predict endpoint or predict route by name. */
  byName(name: string): PredictEntry | undefined {
    return this.holder.current.getPredict(name);
  }

  /** POST /predict/...: the endpoint declared with that `gatehouse.path`. */
  async predictByPath(path: string, body: unknown, reply: FastifyReply): Promise<void> {
    const entry = this.holder.current.getModelByPath(path.split('?')[0].replace(/\/+$/, ''));
    if (!entry) {
      throw new RegistryException(404, RegistryErrorCode.ModelNotFound, 'Not Found');
    }
    this.access.assertCanInvoke(reply.request, entry.name);
    await this.predict(entry, body, reply);
  }

  async predict(entry: PredictEntry, body: unknown, reply: FastifyReply): Promise<void> {
    const record = this.tracker.begin(reply, 'predict');
    record.operation = 'predict';
    record.requested = entry.name;
    record.provider = 'mlflow-model-serving';
    const payload = scoringPayload(body);
    const route: PredictRouteEntry | undefined = entry.kind === 'route' ? entry : undefined;
    const endpoint = route ? this.pick(route, payload, reply, record) : (entry as ModelEndpointEntry);
    record.endpoint = endpoint.name;
    record.model = endpoint.registeredModel;
    const chain = fallbackChain(endpoint, route?.fallbacks);
    const target = endpoint.target;
    if (!chain.some((e) => e.target)) {
      if (route) record.endpointStatus = 503;
      throw unavailableError(endpoint);
    }
    if (target) record.modelVersion = target.version;
    await this.telemetry.phase('limits', record, () => this.limits.admitPredict(endpoint, reply, record));
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    void reply.header('x-gatehouse-endpoint', endpoint.name);
    if (target) announceVersion(reply, endpoint, target);
    // The cache is looked up under the chosen endpoint and its version; an unavailable one has none.
    const cached = target
      ? await this.telemetry.phase('cache', record, () =>
          this.cache.lookupPrediction({
            endpoint: { name: endpoint.name, cache: endpoint.cache },
            registeredModel: endpoint.registeredModel,
            version: target.version,
            body: payload.keyBody,
            http: reply.request,
          }),
        )
      : CacheLookup.off();
    record.cacheHit = cached.hit;
    try {
      cached.attach(reply);
      let json: string;
      if (cached.hit) {
        json = cached.replayPrediction();
      } else {
        const answer = await this.telemetry.phase('routing', record, () =>
          this.score(chain, payload, controller.signal, record, reply),
        );
        if (answer.endpoint !== endpoint) this.answeredByFallback(cached, answer, payload, reply, record);
        json = cached.fillPrediction(answer.json);
      }
      void reply.status(200).header('content-type', 'application/json; charset=utf-8').send(json);
    } finally {
      // Only a successful answer was filled: errors release waiting requests without an entry.
      cached.release();
    }
  }

  /** A route's destination for this caller: grants, content rules, sticky key or weighted draw. */
  private pick(
    route: PredictRouteEntry,
    payload: ScoringPayload,
    reply: FastifyReply,
    record: InvocationRecord,
  ): ModelEndpointEntry {
    record.route = route.name;
    const body = 'json' in payload.keyBody ? (payload.keyBody.json as Record<string, unknown>) : undefined;
    return this.access.pickFrom(reply.request, route, Math.random, body);
  }

  /**
   * A fallback answered: the version headers and the record name it, and its answer is cached under
   * the fallback's own entry (its policy, its version), never under the chosen endpoint's, so that
   * endpoint answers for itself again once it is healthy.
   */
  private answeredByFallback(
    cached: CacheLookup,
    answer: Answer,
    payload: ScoringPayload,
    reply: FastifyReply,
    record: InvocationRecord,
  ): void {
    record.modelVersion = answer.target.version;
    announceVersion(reply, answer.endpoint, answer.target);
    if (!cached.storing) return;
    cached.redirect(
      this.cache.predictionFillerFor({
        endpoint: { name: answer.endpoint.name, cache: answer.endpoint.cache },
        registeredModel: answer.endpoint.registeredModel,
        version: answer.target.version,
        body: payload.keyBody,
        http: reply.request,
      }),
    );
  }

  /**
   * The chosen endpoint, then its fallbacks and the route's: each with its retry policy over its
   * version's scoring servers (by default up to 3 attempts when it has several), balanced per
   * `gatehouse.load_balancing` with passive ejection. Connection failures, timeouts, 429 and 5xx move
   * on; the scoring server's 4xx (a bad payload) is final.
   */
  private async score(
    chain: readonly ModelEndpointEntry[],
    payload: ScoringPayload,
    signal: AbortSignal,
    record: InvocationRecord,
    reply: FastifyReply,
  ): Promise<Answer> {
    const first = chain[0];
    try {
      if (chain.length === 1 && !first.resilience && !first.instances && first.target) {
        // One server, no policy, no fallback: one attempt, nothing extra per request.
        const target = first.target;
        const json = await this.scoreAttempt(first, target, undefined, payload, undefined, signal, record);
        record.answeredBy = first.name;
        return { json, endpoint: first, target };
      }
      return await this.chain.run<ModelEndpointEntry, ServingInstance, Answer>({
        targets: chain,
        signal,
        stream: false,
        deadlineMs: first.resilience?.deadlineMs,
        key: (entry) => entry.key,
        headersMs: (entry) => entry.timeoutMs,
        classify: classifyScoringFailure,
        retryAfterMs: (error) =>
          error instanceof RegistryException ? parseRetryAfter(error.options.retryAfter) : undefined,
        deadlineError,
        circuitOpenError,
        exhaustedError: () => unavailableError(first),
        unavailable: (entry) => (entry.target ? undefined : unavailableError(entry)),
        onLeave: (entry, error) => {
          if (entry === first)
            record.endpointStatus = error instanceof RegistryException ? error.status : 502;
        },
        attempt: async (entry, instance, headersMs, _release, attemptSignal) => {
          const target = entry.target!;
          const json = await this.scoreAttempt(
            entry,
            target,
            instance,
            payload,
            headersMs,
            attemptSignal,
            record,
          );
          record.answeredBy = entry.name;
          return { json, endpoint: entry, target };
        },
      });
    } finally {
      if (record.target !== undefined) {
        void reply
          .header('x-gatehouse-target', record.target)
          .header('x-gatehouse-attempts', String(record.attempts));
      }
    }
  }

  /** One scoring call, counted on the request's record and seen by telemetry as a provider attempt. */
  private async scoreAttempt(
    entry: ModelEndpointEntry,
    target: ModelServingTarget,
    instance: ServingInstance | undefined,
    payload: ScoringPayload,
    headersMs: number | undefined,
    signal: AbortSignal,
    record: InvocationRecord,
  ): Promise<string> {
    const attempt = ++record.attempts;
    const url = instance?.url ?? target.url;
    record.target = instance?.key ?? `${entry.name}@${target.version}`;
    const scope = this.telemetry.attempt(record, {
      operation: 'predict',
      endpoint: entry.name,
      target: record.target,
      provider: 'mlflow-model-serving',
      model: `${entry.registeredModel}/${target.version}`,
      attempt,
      stream: false,
      url,
    });
    try {
      const json = await this.call(entry, target, url, payload, headersMs ?? entry.timeoutMs, signal);
      scope.end({ status: 200 });
      return json;
    } catch (error) {
      scope.end({
        status: error instanceof RegistryException ? error.status : undefined,
        error: signal.aborted ? 'aborted' : 'status',
      });
      throw error;
    }
  }

  /** The scoring server's JSON answer; its failures become MLflow-shaped errors. */
  private async call(
    entry: ModelEndpointEntry,
    target: ModelServingTarget,
    url: string,
    payload: ScoringPayload,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<string> {
    let response: UpstreamResponse;
    let text: string;
    try {
      response = await this.http.send(
        {
          url: `${url}/invocations`,
          method: 'POST',
          headers: { 'content-type': payload.csv ? 'text/csv; charset=utf-8' : 'application/json' },
          body: payload.text,
        },
        { signal, headersTimeoutMs: timeoutMs, idleTimeoutMs: entry.timeoutMs },
      );
      text = await this.http.readText(response, signal);
    } catch (error) {
      throw transportError(entry, target, timeoutMs, error);
    }
    if (response.status >= 200 && response.status < 300) return text;
    throw scoringError(entry, target, response.status, text);
  }
}

function scoringPayload(body: unknown): ScoringPayload {
  if (body instanceof CsvBody) return { text: body.text, csv: true, keyBody: { csv: body.text } };
  const scoring = validateScoringBody(body);
  return { text: JSON.stringify(scoring), csv: false, keyBody: { json: scoring } };
}

/** `x-gatehouse-model-version` / `x-gatehouse-model`: the version that answers (or is about to). */
function announceVersion(reply: FastifyReply, entry: ModelEndpointEntry, target: ModelServingTarget): void {
  void reply.header('x-gatehouse-model-version', target.version);
  void reply.header('x-gatehouse-model', `models:/${entry.registeredModel}/${target.version}`);
}
