import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { UpstreamHttpClient, UpstreamResponse } from 'src/infra/http/upstream-http.client';
import {
  ModelEndpointEntry,
  ModelServingTarget,
  ServingInstance,
} from 'src/modules/routing/model-endpoint.entry';
import { AttemptChain, fallbackChain } from 'src/modules/routing/traffic/attempt-chain';
import { parseRetryAfter } from 'src/modules/routing/traffic/backoff';
import { RegistryException } from 'src/modules/registry/registry.exception';
import {
  circuitOpenError,
  classifyScoringFailure,
  deadlineError,
  scoringError,
  transportError,
  unavailableError,
} from 'src/modules/registry/scoring-errors';
import {
  joinPredictions,
  SCORING_CHUNK_EVENT,
  ScoringChunk,
  ScoringChunkEvent,
  scoreChunks,
  splitScoringBody,
} from 'src/modules/registry/scoring-fanout';
import { InvocationRecord } from 'src/common/observability/invocation';
import { Telemetry } from 'src/common/observability/telemetry';
import type { InvocationContext, ScoringPayload } from 'src/modules/pipeline/invocation-context';

/** A scoring answer and who gave it (the chosen endpoint, or a fallback). */
interface Answer {
  json: string;
  endpoint: ModelEndpointEntry;
  target: ModelServingTarget;
}

/**
 * The upstream call of a predict invocation: the MLflow scoring protocol to the scoring server of the
 * version the endpoint resolved to when the request arrived (an alias move mid-request does not
 * change it). Retries, instances, breakers and fallbacks go through the same AttemptChain as LLM
 * endpoints.
 */
@Injectable()
export class ModelServingService {
  constructor(
    private readonly http: UpstreamHttpClient,
    private readonly telemetry: Telemetry,
    private readonly chain: AttemptChain,
    private readonly events: EventEmitter2,
  ) {}

  /** The scoring server's JSON answer for the invocation's payload (its record learns who answered). */
  async predict(ctx: InvocationContext): Promise<string> {
    const model = ctx.model!;
    const route = ctx.route?.endpointType === 'ml/v1/predict' ? ctx.route : undefined;
    const chain = fallbackChain(model, route?.fallbacks);
    const record = ctx.record;
    const payload = ctx.scoring!;
    try {
      const chunks = model.batch ? splitScoringBody(payload.keyBody, model.batch.maxRowsPerCall) : undefined;
      const answer = chunks
        ? await this.fanOut(ctx, chain, chunks, model.batch!.concurrency)
        : await this.score(chain, payload, ctx.signal, record);
      if (answer.endpoint !== model) {
        // A fallback answered: the version headers name it.
        record.modelVersion = answer.target.version;
        ctx.header('x-gatehouse-model-version', answer.target.version);
        ctx.header(
          'x-gatehouse-model',
          `models:/${answer.endpoint.registeredModel}/${answer.target.version}`,
        );
      }
      return answer.json;
    } finally {
      if (record.target !== undefined) {
        ctx.header('x-gatehouse-target', record.target);
        ctx.header('x-gatehouse-attempts', String(record.attempts));
      }
    }
  }

  /**
   * A request with more rows than `gatehouse.batch.max_rows_per_call`: each chunk goes through the same
   * attempt chain as a whole request would (instance choice, retries, fallbacks), a bounded number at a
   * time, and the answers are joined in row order. Still one invocation: one record, one ledger row.
   */
  private async fanOut(
    ctx: InvocationContext,
    chain: readonly ModelEndpointEntry[],
    chunks: ScoringChunk[],
    concurrency: number,
  ): Promise<Answer> {
    const payload = ctx.scoring!;
    let last: Answer | undefined;
    let fallback: Answer | undefined;
    ctx.header('x-gatehouse-chunks', String(chunks.length));
    const { answers, errors } = await scoreChunks(
      chunks,
      concurrency,
      payload.partial,
      ctx.signal,
      async (chunk, signal) => {
        const answer = await this.score(chain, { ...payload, text: chunk.text }, signal, ctx.record);
        last = answer;
        if (answer.endpoint !== chain[0]) fallback = answer;
        return answer.json;
      },
      (outcome) => this.events.emit(SCORING_CHUNK_EVENT, new ScoringChunkEvent(chain[0].name, outcome)),
    );
    // A partial answer is never cached: the failed rows would be replayed as nulls.
    if (errors.length > 0) ctx.cacheable = false;
    const answered = fallback ?? last!;
    return { ...answered, json: joinPredictions(chunks, answers, errors) };
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
  ): Promise<Answer> {
    const first = chain[0];
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
        if (entry === first) record.endpointStatus = error instanceof RegistryException ? error.status : 502;
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
        {
          signal,
          headersTimeoutMs: timeoutMs,
          idleTimeoutMs: entry.timeoutMs,
          restricted: target.restricted === true,
        },
      );
      text = await this.http.readText(response, signal);
    } catch (error) {
      throw transportError(entry, target, timeoutMs, error);
    }
    if (response.status >= 200 && response.status < 300) return text;
    throw scoringError(entry, target, response.status, text);
  }
}
