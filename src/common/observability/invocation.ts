import { FastifyRequest } from 'fastify';

/** The event every finished inference or prediction request emits, once (see InvocationTracker). */
export const INVOCATION_FINISHED = 'invocation.finished';

/**
 * Emitted for an HTTP answer just before its last byte is handed to the socket, with the record already
 * final (outcome, status, cost). INVOCATION_FINISHED follows at `close` with the same record (`answered`
 * set). Only the usage ledger listens: it journals the record here, so a process killed right after the
 * caller got its answer still has the row on disk.
 */
export const INVOCATION_ANSWERED = 'invocation.answered';

export type InvocationOutcome = 'success' | 'error' | 'cache_hit' | 'cancelled';

/**
 * One request's facts, filled in by the pipeline stages it passes through and emitted when the
 * invocation is over (finished, failed or abandoned by the client). The usage ledger, metrics and the
 * access log all read this one record, so they can never disagree about what happened.
 */
export interface InvocationRecord {
  requestId: string;
  /** Wall clock at start (ms since epoch). */
  startedAt: number;
  /** performance.now() at start, for durations. */
  startedHr: number;
  /** `openai` | `mlflow` | `mlflow-v3` | `predict` | `api` | `internal` */
  surface: string;
  /** `chat` | `completions` | `embeddings` | `predict` | `moderations` once known. */
  operation?: string;
  stream: boolean;
  /** The name the caller asked for (endpoint, traffic route or prompt API). */
  requested?: string;
  /** The traffic route, when the name was one. */
  route?: string;
  /** The endpoint that served the request (after route splits). */
  endpoint?: string;
  /** The target that answered (after retries and fallbacks); an endpoint name or `endpoint#target`. */
  target?: string;
  /** The endpoint whose upstream answered: `endpoint` itself, or the fallback that answered for it. */
  answeredBy?: string;
  /**
   * How `endpoint` itself ended when it could not answer and a fallback was tried (or nothing was left):
   * the status it failed with (e.g. 502). Undefined when it answered. Rollouts judge the canary on it,
   * so a fallback that rescues the caller does not hide a failing canary.
   */
  endpointStatus?: number;
  provider?: string;
  /** Upstream model name (LLM) or registered model (MLflow). */
  model?: string;
  /** MLflow model version, for registry models. */
  modelVersion?: string;
  /** Upstream attempts made (0 for a cache hit or a refusal before routing). */
  attempts: number;
  /**
   * Time spent relaying upstream streams after their first chunk (ms): the pace of a stream is the
   * upstream's, so admission control does not count it as time the request queued in the gateway.
   */
  streamedMs?: number;
  principalId?: string;
  team?: string;
  apiKeyId?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** True when the token counts were counted by the gateway rather than reported by the provider. */
  tokensEstimated?: boolean;
  costUsd?: number;
  /** Time to the first streamed chunk, ms from start. */
  ttftMs?: number;
  cacheHit: boolean;
  /** Prompt template and version used (`name@version`, e.g. `support-reply@2`, `prompts:/summarize@3`). */
  promptVersion?: string;
  /** Strongest guardrail action on input / output (`allow` | `redact` | `flag` | `block`). */
  moderationInput?: string;
  moderationOutput?: string;
  /** Gateway error code of a failed request. */
  errorCode?: string;
  /** Filled at finish. */
  status?: number;
  outcome?: InvocationOutcome;
  latencyMs?: number;
  finishedAt?: number;
  /**
   * Gateway-generated, unique per request (a UUID), unlike `requestId`, which echoes a caller's
   * x-request-id and so can repeat (client retries). The usage ledger is keyed on it.
   */
  invocationId?: string;
  /**
   * A call the gateway made on a caller's behalf (guardrail judge, moderation model, summariser): the
   * invocation id of the caller's request it served. Undefined for calls made by callers themselves.
   */
  parentId?: string;
  /** Why the gateway made that call: `guardrail_judge`, `moderation_model`, `summary`. */
  purpose?: string;
  /** A line of an OpenAI batch: the batch's id (the ledger tags the row with it). */
  batchId?: string;
  /** True once emitted as INVOCATION_ANSWERED (its INVOCATION_FINISHED is a second emission). */
  answered?: boolean;
}

/**
 * What the HTTP edge (error filter, access log, server span) needs of an inference request's pipeline
 * context: its record, and the headers the stages set for the response.
 */
export interface InvocationEdge {
  readonly record: InvocationRecord;
  readonly responseHeaders: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyRequest {
    invocation?: InvocationEdge;
  }
}

export function invocationOf(request: FastifyRequest): InvocationRecord | undefined {
  return request.invocation?.record;
}
