import { AccessService } from 'src/modules/auth/access.service';
import { Injectable } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { CsvBody } from 'src/common/http/csv-body';
import { CacheService } from 'src/modules/cache/cache.service';
import { UpstreamFailure, UpstreamHttpClient, UpstreamResponse } from 'src/infra/http/upstream-http.client';
import { ModelEndpointEntry, ModelServingTarget } from 'src/modules/routing/model-endpoint.entry';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';
import { validateScoringBody } from 'src/modules/registry/scoring-protocol';
import { InvocationRecord } from 'src/common/observability/invocation';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { Telemetry } from 'src/common/observability/telemetry';
import { TrafficState } from 'src/modules/routing/traffic/traffic-state.service';
import { LimitsService } from 'src/modules/limits/limits.service';

const MAX_MESSAGE = 2000;
/** Passive ejection of a scoring server: 3 failures in a row → out for 30 s (growing, at most 5 min). */
const PREDICT_EJECTION = { consecutiveFailures: 3, baseMs: 30_000, maxMs: 300_000 };

/**
 * Forwards MLflow scoring-protocol requests to the scoring server of the version an endpoint
 * resolves to right now. The entry is read once, so a request in flight during an alias move
 * finishes on the version it started with.
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
    private readonly traffic: TrafficState,
    private readonly limits: LimitsService,
  ) {}

  byName(name: string): ModelEndpointEntry | undefined {
    return this.holder.current.getModel(name);
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

  async predict(entry: ModelEndpointEntry, body: unknown, reply: FastifyReply): Promise<void> {
    const record = this.tracker.begin(reply, 'predict');
    record.operation = 'predict';
    record.requested = entry.name;
    record.endpoint = entry.name;
    record.provider = 'mlflow-model-serving';
    record.model = entry.registeredModel;
    const csv = body instanceof CsvBody;
    const scoring = csv ? undefined : validateScoringBody(body);
    const payload = csv ? body.text : JSON.stringify(scoring);
    const target = entry.target;
    if (!target) {
      const message = entry.unavailable ?? `Endpoint '${entry.name}' has no routable model version.`;
      throw new RegistryException(503, RegistryErrorCode.ModelUnavailable, message, {
        error_code: 'TEMPORARILY_UNAVAILABLE',
        message,
      });
    }
    record.modelVersion = target.version;
    await this.telemetry.phase('limits', record, () => this.limits.admitPredict(entry, reply, record));
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    void reply.header('x-gatehouse-endpoint', entry.name);
    void reply.header('x-gatehouse-model-version', target.version);
    void reply.header('x-gatehouse-model', `models:/${entry.registeredModel}/${target.version}`);
    const cached = await this.telemetry.phase('cache', record, () =>
      this.cache.lookupPrediction({
        endpoint: { name: entry.name, cache: entry.cache },
        registeredModel: entry.registeredModel,
        version: target.version,
        body: csv ? { csv: body.text } : { json: scoring },
        http: reply.request,
      }),
    );
    record.cacheHit = cached.hit;
    try {
      cached.attach(reply);
      const json = cached.hit
        ? cached.replayPrediction()
        : cached.fillPrediction(
            await this.telemetry.phase('routing', record, () =>
              this.scoreBalanced(entry, target, payload, csv, controller.signal, record, reply),
            ),
          );
      void reply.status(200).header('content-type', 'application/json; charset=utf-8').send(json);
    } finally {
      // Only a successful answer was filled: errors release waiting requests without an entry.
      cached.release();
    }
  }

  /**
   * A version served by several scoring servers: balanced round robin; a connection failure, timeout
   * or 5xx is retried once per other instance (up to 3 attempts) and counts towards the instance's
   * passive ejection. Scoring servers' 4xx (a bad payload) are final.
   */
  private async scoreBalanced(
    entry: ModelEndpointEntry,
    target: ModelServingTarget,
    payload: string,
    csv: boolean,
    signal: AbortSignal,
    record: InvocationRecord,
    reply?: FastifyReply,
  ): Promise<string> {
    const urls = target.instances;
    try {
      if (!urls) return await this.scoreAttempt(entry, target, payload, csv, signal, record);
      const balancer = this.traffic.balancer(`model:${entry.name}`);
      const instances = urls.map((url) => ({ key: url, weight: 1 }));
      const tried = new Set<string>();
      let last: unknown;
      for (let attempt = 0; attempt < Math.min(urls.length, 3); attempt++) {
        const { key } = balancer.pick(instances, 'round_robin', tried);
        balancer.begin(key);
        try {
          const json = await this.scoreAttempt(
            entry,
            { version: target.version, url: key },
            payload,
            csv,
            signal,
            record,
            urls.indexOf(key) + 1,
          );
          balancer.end(key, 'success', PREDICT_EJECTION);
          return json;
        } catch (error) {
          const retryable =
            !signal.aborted && error instanceof RegistryException && [502, 503, 504].includes(error.status);
          balancer.end(key, retryable ? 'failure' : 'cancel', PREDICT_EJECTION);
          if (!retryable) throw error;
          last = error;
          tried.add(key);
        }
      }
      throw last;
    } finally {
      if (reply && record.target !== undefined) {
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
    payload: string,
    csv: boolean,
    signal: AbortSignal,
    record: InvocationRecord,
    instance?: number,
  ): Promise<string> {
    const attempt = ++record.attempts;
    record.target = `${entry.name}@${target.version}${instance === undefined ? '' : `#${instance}`}`;
    const scope = this.telemetry.attempt(record, {
      operation: 'predict',
      endpoint: entry.name,
      target: record.target,
      provider: 'mlflow-model-serving',
      model: `${entry.registeredModel}/${target.version}`,
      attempt,
      stream: false,
      url: target.url,
    });
    try {
      const json = await this.score(entry, target, payload, csv, signal);
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
  private async score(
    entry: ModelEndpointEntry,
    target: ModelServingTarget,
    payload: string,
    csv: boolean,
    signal: AbortSignal,
  ): Promise<string> {
    const response = await this.send(entry, target, payload, csv, signal);
    const text = await this.read(entry, target, response, signal);
    if (response.status >= 200 && response.status < 300) return text;
    throw scoringError(entry, target, response.status, text);
  }

  private async send(
    entry: ModelEndpointEntry,
    target: ModelServingTarget,
    payload: string,
    csv: boolean,
    signal: AbortSignal,
  ): Promise<UpstreamResponse> {
    try {
      return await this.http.send(
        {
          url: `${target.url}/invocations`,
          method: 'POST',
          headers: { 'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json' },
          body: payload,
        },
        { signal, headersTimeoutMs: entry.timeoutMs, idleTimeoutMs: entry.timeoutMs },
      );
    } catch (error) {
      throw transportError(entry, target, error);
    }
  }

  private async read(
    entry: ModelEndpointEntry,
    target: ModelServingTarget,
    response: UpstreamResponse,
    signal: AbortSignal,
  ): Promise<string> {
    try {
      return await this.http.readText(response, signal);
    } catch (error) {
      throw transportError(entry, target, error);
    }
  }
}

function what(entry: ModelEndpointEntry, target: ModelServingTarget): string {
  return `the scoring server of model '${entry.registeredModel}' version ${target.version}`;
}

function transportError(entry: ModelEndpointEntry, target: ModelServingTarget, error: unknown): Error {
  if (!(error instanceof UpstreamFailure)) return error as Error;
  if (error.kind === 'timeout') {
    const message = `Timed out: ${what(entry, target)} did not answer within ${entry.timeoutMs} ms.`;
    return new RegistryException(504, RegistryErrorCode.ModelUnavailable, message, {
      error_code: 'DEADLINE_EXCEEDED',
      message,
    });
  }
  const message =
    error.kind === 'too_large'
      ? `The answer of ${what(entry, target)} was too large.`
      : `Could not reach ${what(entry, target)}.`;
  return new RegistryException(502, RegistryErrorCode.ModelUnavailable, message, {
    error_code: 'BAD_GATEWAY',
    message,
  });
}

/** Client mistakes the scoring server found keep its status and message; its own faults become 502/503/504. */
function scoringError(
  entry: ModelEndpointEntry,
  target: ModelServingTarget,
  status: number,
  text: string,
): RegistryException {
  let parsed: { error_code?: unknown; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const upstreamMessage =
    typeof parsed?.message === 'string'
      ? parsed.message
      : status === 415 && text.length < MAX_MESSAGE
        ? text.trim()
        : undefined;
  if ((status === 400 || status === 415 || status === 422) && upstreamMessage) {
    const message = clip(upstreamMessage);
    const errorCode = typeof parsed?.error_code === 'string' ? parsed.error_code : 'BAD_REQUEST';
    // The scoring server's stack_trace is never forwarded.
    return new RegistryException(status, RegistryErrorCode.ModelUnavailable, message, {
      error_code: errorCode,
      message,
    });
  }
  if (status === 504 || status === 408) {
    const message = `Timed out: ${what(entry, target)} gave up on the request (HTTP ${status}).`;
    return new RegistryException(504, RegistryErrorCode.ModelUnavailable, message, {
      error_code: 'DEADLINE_EXCEEDED',
      message,
    });
  }
  const code = status === 503 ? 503 : 502;
  const message = `${capitalise(what(entry, target))} failed (HTTP ${status}).`;
  return new RegistryException(code, RegistryErrorCode.ModelUnavailable, message, {
    error_code: code === 503 ? 'TEMPORARILY_UNAVAILABLE' : 'BAD_GATEWAY',
    message,
  });
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
