import type { IncomingHttpHeaders } from 'node:http';
import type { ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from 'src/common/auth/principal';
import type { CsvBody } from 'src/common/http/csv-body';
import type { InvocationEdge, InvocationRecord } from 'src/common/observability/invocation';
import type {
  CanonicalChunk,
  CanonicalRequest,
  ChatRequest,
  CanonicalResponse,
  Operation,
} from 'src/modules/providers/provider-adapter';
import type {
  ModelEndpointEntry,
  PredictEntry,
  PredictRouteEntry,
} from 'src/modules/routing/model-endpoint.entry';
import type { EndpointEntry, RouteEntry, TrafficRouteEntry } from 'src/modules/routing/route-table';

/**
 * Where a call came in; the surfaces differ only at the edges (how the endpoint is named, how answers
 * and errors look, whether a stream ends with [DONE]). `openai` = /v1/*; `mlflow` = MLflow's YAML
 * gateway paths; `mlflow-v3` = the 3.x tracking-server gateway paths; `predict` = the MLflow scoring
 * protocol; `api` = published prompt APIs; `internal` = a call the gateway makes on a caller's behalf;
 * `anthropic` = Anthropic's Messages API, `gemini` = Gemini's generateContent, `responses` = OpenAI's
 * Responses API (inbound formats: see pipeline/inbound).
 */
export type Surface =
  'openai' | 'mlflow' | 'mlflow-v3' | 'predict' | 'api' | 'internal' | 'anthropic' | 'gemini' | 'responses';

/** `moderations`: a moderation model the gateway calls on a caller's behalf (see InternalInvocations). */
export type InvocationOp = Operation | 'predict' | 'moderations';

/** How an entry point names the endpoint it calls. */
export type NameSource =
  /** the body's `model` (OpenAI routes, MLflow 3's OpenAI path) */
  | 'body-model'
  /** the `:name` path parameter (MLflow invocations) */
  | 'param'
  /** the request path of a predict endpoint's `gatehouse.path` */
  | 'predict-path'
  /** the published prompt API named by `:name` */
  | 'prompt-api';

/** Route metadata key of an entry point's InvocationSpec. */
export const INVOCATION_SPEC = 'gatehouse:invocation';

/** What an entry point declares with `@Invocation(…)`. */
export interface InvocationSpec {
  surface: Exclude<Surface, 'internal'>;
  /** The operation the path implies; undefined when the endpoint's own type decides (MLflow invocations). */
  op?: Operation;
  name: NameSource;
  /** MLflow 3's unified path: `messages` in the body means chat, `input` embeddings. */
  opFromBody?: boolean;
  /**
   * Who answers: the upstream (default), or the gateway itself counting the request's prompt tokens
   * (Anthropic's count_tokens). Such a call passes every admission stage but is never sent upstream
   * nor cached.
   */
  answer?: InvocationAnswer;
  /** The path itself asks for a stream (Gemini's `:streamGenerateContent`), whatever the body says. */
  stream?: boolean;
  /** `/ask/{name}`: the body is `{question, …}` instead of messages (see RagInterceptor). */
  ask?: boolean;
}

export type InvocationAnswer = 'upstream' | 'token-count';

/** A published prompt API on its way through the pipeline (see PromptApiService). */
export interface PromptApiCall {
  name: string;
  /** The API's output JSON Schema, when it has one. */
  outputSchema: Record<string, unknown> | null;
  /** The reply text as the API's answer: the JSON value its schema accepts, or `{text}` without a schema. */
  check(text: string): { ok: true; value: unknown } | { ok: false; problem: string };
  /** The request to send again after a reply failed the schema: the problem explained to the model. */
  retry(request: ChatRequest, reply: string, problem: string): ChatRequest;
}

/** The prompt template version a request was rendered with. */
export interface PromptUse {
  template: string;
  version: number;
}

/**
 * What the handler (the upstream call) and the stages hand back up the pipeline. The edge turns it into
 * the surface's body: JSON, Server-Sent Events, or a scoring server's JSON text.
 */
export type InvocationResult =
  | { kind: 'response'; response: CanonicalResponse }
  | { kind: 'stream'; chunks: AsyncGenerator<CanonicalChunk> }
  | { kind: 'prediction'; json: string }
  /** The prompt tokens of a request the gateway answered itself (`answer: 'token-count'`). */
  | { kind: 'token-count'; inputTokens: number };

export type StageNext = () => Promise<InvocationResult>;

/**
 * One stage of the pipeline. Every stage is a Nest interceptor for HTTP entry points and is also run
 * by `InternalInvocations` for calls the gateway makes on a caller's behalf, through this method.
 */
export interface InvocationStage {
  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult>;
}

export interface InvocationInit {
  requestId: string;
  principal: Principal | undefined;
  headers: IncomingHttpHeaders;
  /** The caller's address (audit). */
  source: string | undefined;
  surface: Surface;
  op: InvocationOp | undefined;
  record: InvocationRecord;
  body: unknown;
  answer?: InvocationAnswer;
  /** The query parameters an inbound format reads (Gemini's `alt`); never credentials. */
  query?: Readonly<Record<string, string>>;
  /** For calls made on a caller's behalf: ends this call too (the caller left, or the call's deadline). */
  signal?: AbortSignal;
  /** See InvocationSpec.ask. */
  ask?: boolean;
}

/**
 * One invocation on its way through the pipeline: who calls, what for, what was resolved, and what each
 * stage decided. Built at the edge (the invocation guard, or `InternalInvocations`), so no service below
 * ever sees a Fastify object; headers for the response are collected here and set at the edge.
 */
export class InvocationContext implements InvocationEdge {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly source: string | undefined;
  surface: Surface;
  readonly record: InvocationRecord;
  /** Who answers (see InvocationSpec.answer). */
  readonly answer: InvocationAnswer;
  /** See InvocationInit.query. */
  readonly query: Readonly<Record<string, string>>;
  /** See InvocationSpec.ask. */
  readonly ask: boolean;
  private readonly outer: AbortSignal | undefined;
  readonly responseHeaders: Record<string, string> = {};
  operation: InvocationOp | undefined;
  /** The body as received, then as shaped by the stages (prompt rendering). */
  body: unknown;
  /** The client's body in its own wire format, when an inbound format decoded it into `body`. */
  native: unknown;
  /**
   * Set by a stage that keeps the answer (stored Responses): the inbound format calls it once with the
   * complete answer in the client's format, as it goes out (JSON) or ends (a stream's final object).
   */
  answered: ((answer: unknown) => void) | undefined;
  /** The LLM endpoint that serves the call (after a traffic split). */
  endpoint: EndpointEntry | undefined;
  /** The predict endpoint that serves the call (after a traffic split). */
  model: ModelEndpointEntry | undefined;
  /** What the name resolved to: an endpoint or a traffic route (LLM or predict). */
  entry: RouteEntry | PredictEntry | undefined;
  /** The traffic route the name resolved to, if it was one. */
  route: TrafficRouteEntry | PredictRouteEntry | undefined;
  /** The validated canonical request (LLM calls). */
  request: CanonicalRequest | undefined;
  /** The scoring payload (predict calls). */
  scoring: ScoringPayload | undefined;
  /** A published prompt API being called. */
  api: PromptApiCall | undefined;
  /** The template version the request was rendered with. */
  prompt: PromptUse | undefined;
  /** A stateful conversation this request belongs to (such requests are never answered from the cache). */
  conversationId: string | undefined;
  /** False once a guardrail flagged or blocked the request or its answer: such answers are never cached. */
  cacheable = true;
  private controller: AbortController | undefined;
  private finishers: (() => void)[] | undefined;
  private finished = false;
  private aborted = false;

  constructor(init: InvocationInit) {
    this.requestId = init.requestId;
    this.principal = init.principal;
    this.headers = init.headers;
    this.source = init.source;
    this.surface = init.surface;
    this.operation = init.op;
    this.record = init.record;
    this.body = init.body;
    this.answer = init.answer ?? 'upstream';
    this.query = init.query ?? {};
    this.ask = init.ask === true;
    this.outer = init.signal;
  }

  /** Aborted when the caller goes away (or an internal call's own signal fires): ends the upstream call. */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      const outer = this.outer;
      if (outer?.aborted || this.aborted) controller.abort();
      else if (outer) {
        // Removed when the invocation finishes: a signal shared by many internal calls (an ingestion's
        // deadline over hundreds of embeddings calls) would otherwise collect one listener per call.
        const onAbort = () => controller.abort();
        outer.addEventListener('abort', onAbort, { once: true });
        this.onFinish(() => outer.removeEventListener('abort', onAbort));
      }
    }
    return this.controller.signal;
  }

  /** The caller went away before the answer was complete. */
  get closed(): boolean {
    return this.aborted;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }

  get stream(): boolean {
    return this.record.stream;
  }

  /** Runs once the invocation is over (answered, failed or abandoned), before its record is emitted. */
  onFinish(fn: () => void): void {
    if (this.finished) fn();
    else (this.finishers ??= []).push(fn);
  }

  /** Settles every stage's hold (reservations, cache flights); the record is emitted right after. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const finishers = this.finishers;
    if (!finishers) return;
    this.finishers = undefined;
    for (const fn of finishers) fn();
  }

  header(name: string, value: string): void {
    this.responseHeaders[name] = value;
  }
}

/** The scoring request of a predict call: JSON (validated, canonical) or CSV text. */
export interface ScoringPayload {
  text: string;
  csv: boolean;
  /** The cache key material: the canonical JSON body, or the CSV text. */
  keyBody: { csv: string } | { json: unknown };
  /** `partial: true` in the body (stripped): a fanned-out request answers with per-chunk errors. */
  partial: boolean;
}

export type ScoringBody = Record<string, unknown> | CsvBody;

/** The context the invocation guard built for this request (set only by it, as `request.invocation`). */
export function invocationContextOf(context: ExecutionContext): InvocationContext {
  const ctx = context.switchToHttp().getRequest<FastifyRequest>().invocation;
  // The guard runs first on every route that declares @Invocation; a stage without it is a wiring bug.
  if (!(ctx instanceof InvocationContext))
    throw new Error('invocation stage on a route without @Invocation()');
  return ctx;
}
