import { applyEncodingFormat } from 'src/modules/providers/embedding-encoding';
import { Injectable, Logger } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import {
  SendOptions,
  UpstreamFailure,
  UpstreamHttpClient,
  UpstreamText,
} from 'src/infra/http/upstream-http.client';
import { UpstreamStream } from 'src/infra/http/upstream-stream';
import {
  AdapterRequestError,
  CanonicalChunk,
  CanonicalRequest,
  CanonicalResponse,
  Embeddings,
  EmbeddingsRequest,
  Operation,
  ProviderAuthError,
  SseEvent,
  StreamDecoder,
  StreamTranslator,
  TargetContext,
  UpstreamProtocolError,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { SseParser } from 'src/modules/providers/sse-parser';
import {
  EndpointEntry,
  EndpointInstance,
  RouteEntry,
  RouteTable,
  TrafficRouteEntry,
} from 'src/modules/routing/route-table';
import {
  AttemptChain,
  fallbackChain,
  FailureKind,
  InstanceOutcome,
} from 'src/modules/routing/traffic/attempt-chain';
import { parseRetryAfter } from 'src/modules/routing/traffic/backoff';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { fromUpstreamFailure, fromUpstreamStatus } from 'src/modules/routing/upstream-errors';
import { InvocationRecord } from 'src/common/observability/invocation';
import { AttemptScope, Telemetry } from 'src/common/observability/telemetry';

/** Embedding calls of one split request in flight at once (a model that takes one text per call). */
const EMBEDDING_PARTS_IN_FLIGHT = 4;

/**
 * The parts of an embeddings request whose list `input` is longer than `perCall` (in order), or
 * undefined when it fits in one call. A token array (`number[]`) is one input.
 */
export function splitEmbeddings(
  request: EmbeddingsRequest,
  perCall: number | undefined,
): EmbeddingsRequest[] | undefined {
  const input = request.input;
  if (perCall === undefined || perCall < 1 || !Array.isArray(input)) return undefined;
  if (input.length <= perCall || input.every((x) => typeof x === 'number')) return undefined;
  const parts: EmbeddingsRequest[] = [];
  for (let start = 0; start < input.length; start += perCall) {
    parts.push({ ...request, input: input.slice(start, start + perCall) });
  }
  return parts;
}

/** One answer from the answers of a split request: vectors renumbered in order, usage summed. */
export function joinEmbeddings(answers: readonly Embeddings[]): Embeddings {
  const data: Embeddings['data'] = [];
  let prompt: number | null = 0;
  let total: number | null = 0;
  for (const answer of answers) {
    for (const item of [...answer.data].sort((a, b) => a.index - b.index)) {
      data.push({ ...item, index: data.length });
    }
    const usage = answer.usage;
    prompt = prompt === null || usage.prompt_tokens == null ? null : prompt + usage.prompt_tokens;
    total = total === null || usage.total_tokens == null ? null : total + usage.total_tokens;
  }
  return {
    object: 'list',
    data,
    model: answers[0].model,
    usage: { prompt_tokens: prompt, total_tokens: total },
  };
}

/** A failure after the first byte went to the client: only a terminal error event can report it. */
export class UpstreamStreamError extends Error {}

const STREAM_CAPABILITY = {
  chat: 'chatStream',
  completions: 'completionsStream',
  embeddings: 'embeddings',
} as const;

const OPERATION_LABEL: Record<Operation, string> = {
  chat: 'chat',
  completions: 'completions',
  embeddings: 'embeddings',
};

/** Picks the upstream for a request and performs the call through the endpoint's adapter. */
@Injectable()
export class RoutingService {
  private readonly logger = new Logger('Upstream');

  constructor(
    private readonly tables: RouteTableHolder,
    private readonly http: UpstreamHttpClient,
    private readonly telemetry: Telemetry,
    private readonly chain: AttemptChain,
  ) {}

  resolve(name: string): RouteEntry | undefined {
    return this.tables.current.get(name);
  }

  table(): RouteTable {
    return this.tables.current;
  }

  /**
   * A non-streaming call: one attempt on the fast path (single target, no policy); otherwise through
   * the endpoint's retry policy, circuit breakers, instances and fallback chain (see `attemptChain`).
   */
  async invoke(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    signal: AbortSignal,
    record?: InvocationRecord,
    route?: TrafficRouteEntry,
  ): Promise<CanonicalResponse> {
    this.ensureCapable(op, endpoint, false);
    if (op === 'embeddings') {
      const parts = splitEmbeddings(
        request as EmbeddingsRequest,
        endpoint.adapter.embeddingsPerCall?.(endpoint.target),
      );
      if (parts) return this.invokeParts(parts, endpoint, signal, record, route);
    }
    if (isPlain(endpoint, route)) {
      return this.invokeOnce(op, request, endpoint, undefined, endpoint.timeouts.headersMs, signal, record);
    }
    return this.attemptChain(
      op,
      endpoint,
      route,
      signal,
      false,
      record,
      (target, instance, headersMs, _, attemptSignal) =>
        this.invokeOnce(op, request, target, instance, headersMs, attemptSignal, record),
    );
  }

  /**
   * An embeddings request with more inputs than the model takes per call: each part is an ordinary call
   * (with the endpoint's retries and fallbacks), at most EMBEDDING_PARTS_IN_FLIGHT at once, joined in
   * order into one answer; the first failure fails the request (and aborts the parts still running).
   */
  private async invokeParts(
    parts: EmbeddingsRequest[],
    endpoint: EndpointEntry,
    signal: AbortSignal,
    record: InvocationRecord | undefined,
    route: TrafficRouteEntry | undefined,
  ): Promise<Embeddings> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const answers: Embeddings[] = new Array<Embeddings>(parts.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < parts.length) {
        const i = next++;
        answers[i] = (await this.invoke(
          'embeddings',
          parts[i],
          endpoint,
          controller.signal,
          record,
          route,
        )) as Embeddings;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(EMBEDDING_PARTS_IN_FLIGHT, parts.length) }, worker));
    } catch (error) {
      controller.abort();
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return joinEmbeddings(answers);
  }

  private async invokeOnce(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    instance: EndpointInstance | undefined,
    headersMs: number | undefined,
    signal: AbortSignal,
    record: InvocationRecord | undefined,
  ): Promise<CanonicalResponse> {
    const target = instance?.target ?? endpoint.target;
    let upstream = this.build(op, request, endpoint, target, false);
    if (endpoint.adapter.authorize) upstream = await this.authorize(endpoint, upstream, target);
    const scope = this.startAttempt(op, endpoint, instance, upstream, false, record);
    let status: number | undefined;
    try {
      const response = await this.fetchText(upstream, endpoint, headersMs, signal);
      status = response.status;
      const text = response.text;
      if (response.status < 200 || response.status >= 300) throw this.errorFrom(endpoint, response, text);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new GatewayException(
          502,
          GatewayErrorCode.UpstreamError,
          'The upstream provider returned a non-JSON response.',
        );
      }
      let parsed: CanonicalResponse;
      try {
        parsed = applyEncodingFormat(op, request, endpoint.adapter.parseResponse(op, body, target, request));
      } catch (error) {
        if (error instanceof UpstreamProtocolError) {
          throw new GatewayException(
            502,
            GatewayErrorCode.UpstreamError,
            `The upstream response was malformed: ${error.message}.`,
          );
        }
        throw error;
      }
      scope.end({
        status,
        responseModel: typeof parsed.model === 'string' ? parsed.model : undefined,
        inputTokens: parsed.usage?.prompt_tokens ?? undefined,
        outputTokens: parsed.usage?.completion_tokens ?? undefined,
      });
      return parsed;
    } catch (error) {
      scope.end({ status, error: attemptError(error, status) });
      if (status !== undefined && error instanceof Error) upstreamStatus.set(error, status);
      throw error;
    }
  }

  /**
   * Tries the endpoint, then its fallbacks, then the route's, through the shared AttemptChain (retries,
   * back-off, retry budget, deadline, circuit breakers, instances). Only retryable failures
   * (connection, timeout, 429, 5xx) move on; a caller's 4xx, a refusal or a cancel ends the request.
   * The record learns which endpoint answered, and how the routed-to endpoint itself failed when a
   * fallback answered instead (the rollout judge counts that against it).
   */
  private attemptChain<T>(
    op: Operation,
    endpoint: EndpointEntry,
    route: TrafficRouteEntry | undefined,
    signal: AbortSignal,
    stream: boolean,
    record: InvocationRecord | undefined,
    once: (
      target: EndpointEntry,
      instance: EndpointInstance | undefined,
      headersMs: number | undefined,
      release: (outcome: InstanceOutcome) => void,
      signal: AbortSignal,
    ) => Promise<T>,
  ): Promise<T> {
    return this.chain.run<EndpointEntry, EndpointInstance, T>({
      targets: fallbackChain(endpoint, route?.fallbacks),
      signal,
      stream,
      deadlineMs: endpoint.resilience?.deadlineMs,
      headersMs: (target) => target.timeouts.headersMs,
      classify: (error) => classify(error),
      retryAfterMs,
      deadlineError,
      circuitOpenError,
      exhaustedError: () =>
        new GatewayException(
          503,
          GatewayErrorCode.UpstreamUnavailable,
          'No upstream could take the request.',
        ),
      skip: (target) => !this.capable(op, target, stream),
      onLeave: (target, error) => {
        if (record && target === endpoint) record.endpointStatus = statusOf(error);
      },
      attempt: async (target, instance, headersMs, release, attemptSignal) => {
        const result = await once(target, instance, headersMs, release, attemptSignal);
        if (record) record.answeredBy = target.name;
        return result;
      },
    });
  }

  /** Counts the attempt on the request's record and opens its telemetry scope. */
  private startAttempt(
    op: Operation,
    endpoint: EndpointEntry,
    instance: EndpointInstance | undefined,
    upstream: UpstreamRequest,
    stream: boolean,
    record: InvocationRecord | undefined,
  ): AttemptScope {
    let attempt = 1;
    const target = instance?.key ?? endpoint.name;
    if (record) {
      attempt = ++record.attempts;
      record.target = target;
      record.provider = endpoint.provider;
      record.model = endpoint.modelName;
    }
    return this.telemetry.attempt(record, {
      operation: op,
      endpoint: endpoint.name,
      target,
      provider: endpoint.provider,
      model: endpoint.modelName,
      attempt,
      stream,
      url: upstream.url,
    });
  }

  /**
   * Opens an upstream stream. Errors before the first upstream chunk are thrown as GatewayException
   * (the caller still has its real status to send); later ones end the iterator with UpstreamStreamError.
   * With a resilience policy, retries and fallbacks happen until an upstream answered 2xx with an event
   * stream AND produced its first chunk: that chunk is read here, before anything reaches the client.
   */
  async openStream(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    signal: AbortSignal,
    record?: InvocationRecord,
    route?: TrafficRouteEntry,
  ): Promise<AsyncGenerator<CanonicalChunk>> {
    this.ensureCapable(op, endpoint, true);
    if (isPlain(endpoint, route)) {
      return this.streamOnce(op, request, endpoint, undefined, endpoint.timeouts.headersMs, signal, record);
    }
    return this.attemptChain(
      op,
      endpoint,
      route,
      signal,
      true,
      record,
      async (target, instance, headersMs, release, attemptSignal) => {
        // Until the first chunk, the chain's catch settles the instance; after it, the stream's end does.
        let started = false;
        const stream = await this.streamOnce(
          op,
          request,
          target,
          instance,
          headersMs,
          attemptSignal,
          record,
          () => {
            if (started) release('success');
          },
        );
        let first: IteratorResult<CanonicalChunk>;
        try {
          first = await stream.next();
        } catch (error) {
          if (error instanceof UpstreamStreamError) {
            throw new GatewayException(
              502,
              GatewayErrorCode.UpstreamError,
              `Upstream stream failed: ${error.message}.`,
            );
          }
          throw error;
        }
        started = true;
        if (first.done) {
          release('success');
          return stream;
        }
        return prepend(first.value, stream);
      },
    );
  }

  private async streamOnce(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    instance: EndpointInstance | undefined,
    headersMs: number | undefined,
    signal: AbortSignal,
    record: InvocationRecord | undefined,
    onClose?: () => void,
  ): Promise<AsyncGenerator<CanonicalChunk>> {
    const target = instance?.target ?? endpoint.target;
    let upstream = this.build(op, request, endpoint, target, true);
    if (endpoint.adapter.authorize) upstream = await this.authorize(endpoint, upstream, target);
    const framing = endpoint.adapter.streamFraming;
    const scope = this.startAttempt(op, endpoint, instance, upstream, true, record);
    let status: number | undefined;
    try {
      const response = await this.openUpstreamStream(upstream, endpoint, headersMs, signal, !!framing);
      status = response.status;
      if (response.status < 200 || response.status >= 300) {
        throw this.errorFrom(endpoint, response, await this.readStreamText(response));
      }
      const contentType = String(response.headers['content-type'] ?? '');
      if (!contentType.includes(framing?.contentType ?? 'text/event-stream')) {
        response.close();
        throw new GatewayException(
          502,
          GatewayErrorCode.UpstreamError,
          'The upstream provider did not answer with an event stream.',
        );
      }
      return this.chunks(
        response,
        endpoint.adapter.createStreamTranslator(op, target),
        scope,
        onClose,
        framing?.createDecoder(),
      );
    } catch (error) {
      scope.end({ status, error: attemptError(error, status) });
      if (status !== undefined && error instanceof Error) upstreamStatus.set(error, status);
      throw error;
    }
  }

  private async *chunks(
    response: UpstreamStream,
    translator: StreamTranslator,
    scope: AttemptScope,
    onClose?: () => void,
    decoder?: StreamDecoder,
  ): AsyncGenerator<CanonicalChunk> {
    const parser = decoder ?? new SseParser();
    const result: {
      status: number;
      error?: string;
      responseModel?: string;
      inputTokens?: number;
      outputTokens?: number;
    } = {
      status: response.status,
    };
    let first = true;
    const note = (chunk: CanonicalChunk): CanonicalChunk => {
      if (first) {
        first = false;
        scope.firstByte();
      }
      if (typeof chunk.model === 'string') result.responseModel = chunk.model;
      if (chunk.usage) {
        result.inputTokens = chunk.usage.prompt_tokens ?? undefined;
        result.outputTokens = chunk.usage.completion_tokens ?? undefined;
      }
      return chunk;
    };
    try {
      try {
        for await (const piece of decoder ? response.bytes() : response.pieces()) {
          for (const event of feed(parser, piece)) {
            const step = translator.push(event);
            for (const chunk of step.chunks) yield note(chunk);
            if (step.error) throw new UpstreamStreamError(step.error.message);
            if (step.done) return;
          }
        }
      } catch (error) {
        if (error instanceof UpstreamFailure) {
          throw new UpstreamStreamError(
            error.kind === 'timeout' ? 'upstream stream timed out' : 'upstream stream was interrupted',
          );
        }
        if (error instanceof UpstreamProtocolError) throw new UpstreamStreamError(error.message);
        throw error;
      } finally {
        response.close();
      }
      let tail: SseEvent[];
      try {
        tail = parser.end();
      } catch (error) {
        if (error instanceof UpstreamProtocolError) throw new UpstreamStreamError(error.message);
        throw error;
      }
      for (const event of tail) {
        const step = translator.push(event);
        for (const chunk of step.chunks) yield note(chunk);
        if (step.error) throw new UpstreamStreamError(step.error.message);
        if (step.done) return;
      }
      // A stream that ends cleanly after a finish reason but without [DONE] is complete (bad-inputs U11).
      if (!translator.finished) throw new UpstreamStreamError('upstream stream ended before completion');
    } catch (error) {
      result.error = error instanceof UpstreamStreamError ? 'stream' : 'aborted';
      throw error;
    } finally {
      scope.end(result);
      onClose?.();
    }
  }

  private capable(op: Operation, endpoint: EndpointEntry, stream: boolean): boolean {
    return endpoint.adapter.capabilities[stream ? STREAM_CAPABILITY[op] : op];
  }

  private ensureCapable(op: Operation, endpoint: EndpointEntry, stream: boolean): void {
    if (!this.capable(op, endpoint, stream)) {
      const what = stream && op !== 'embeddings' ? `streaming ${OPERATION_LABEL[op]}` : OPERATION_LABEL[op];
      throw new GatewayException(
        501,
        GatewayErrorCode.NotImplemented,
        `The ${what} route is not implemented for ${displayName(endpoint)} models.`,
      );
    }
  }

  private build(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    target: TargetContext,
    stream: boolean,
  ): UpstreamRequest {
    try {
      return endpoint.adapter.buildRequest(op, request, target, stream);
    } catch (error) {
      if (error instanceof AdapterRequestError) {
        throw new GatewayException(error.status, GatewayErrorCode.InvalidRequest, error.message, {
          param: error.param,
        });
      }
      throw error;
    }
  }

  /** Runs the adapter's `authorize` (e.g. SigV4); a credentials failure is the gateway's, never the caller's. */
  private async authorize(
    endpoint: EndpointEntry,
    upstream: UpstreamRequest,
    target: TargetContext,
  ): Promise<UpstreamRequest> {
    try {
      return await endpoint.adapter.authorize!(upstream, target);
    } catch (error) {
      if (error instanceof ProviderAuthError) {
        throw new GatewayException(
          502,
          GatewayErrorCode.UpstreamError,
          'The gateway could not obtain credentials for this endpoint; contact the gateway operator.',
        );
      }
      throw error;
    }
  }

  private openUpstreamStream(
    request: UpstreamRequest,
    endpoint: EndpointEntry,
    headersMs: number | undefined,
    signal: AbortSignal,
    binary: boolean,
  ): Promise<UpstreamStream> {
    return this.upstreamCall(
      (options) => this.http.openStream(request, binary ? { ...options, binary } : options),
      endpoint,
      headersMs,
      signal,
    );
  }

  private fetchText(
    request: UpstreamRequest,
    endpoint: EndpointEntry,
    headersMs: number | undefined,
    signal: AbortSignal,
  ): Promise<UpstreamText> {
    return this.upstreamCall((options) => this.http.fetchText(request, options), endpoint, headersMs, signal);
  }

  /** One upstream call with the endpoint's timeouts; transport failures become the gateway's 502/504. */
  private async upstreamCall<T>(
    call: (options: SendOptions) => Promise<T>,
    endpoint: EndpointEntry,
    headersMs: number | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    try {
      return await call({
        signal,
        headersTimeoutMs: headersMs,
        idleTimeoutMs: endpoint.timeouts.idleMs,
        restricted: endpoint.restrictedEgress,
      });
    } catch (error) {
      if (error instanceof UpstreamFailure) throw fromUpstreamFailure(error);
      throw error;
    }
  }

  private async readStreamText(response: UpstreamStream): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      if (error instanceof UpstreamFailure) throw fromUpstreamFailure(error);
      throw error;
    }
  }

  private errorFrom(
    endpoint: EndpointEntry,
    response: Pick<UpstreamText, 'status' | 'headers'>,
    text: string,
  ): GatewayException {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the adapter falls back to a generic message (HTML bodies are never echoed)
    }
    const info = endpoint.adapter.parseError(response.status, body, response.headers);
    if (response.status >= 500) {
      // The caller sees only the status and request id; the provider's words are for the operator
      // (every log line is redacted of the secrets the gateway holds).
      this.logger.warn(
        `${endpoint.name}: upstream answered HTTP ${response.status}: ${info.message.slice(0, 2000)}`,
      );
    }
    return fromUpstreamStatus(response.status, info, response.headers);
  }
}

/** One piece of an upstream stream through its decoder: SSE text, or a binary format's bytes. */
function feed(decoder: SseParser | StreamDecoder, piece: string | Uint8Array): SseEvent[] {
  return decoder instanceof SseParser ? decoder.feed(piece as string) : decoder.feed(piece as Uint8Array);
}

/** The upstream HTTP status behind a failed attempt's error (the mapped status hides e.g. 500 vs 401). */
const upstreamStatus = new WeakMap<Error, number>();

/** Single target, no policy: the one-attempt path, with nothing extra per request. */
function isPlain(endpoint: EndpointEntry, route: TrafficRouteEntry | undefined): boolean {
  return !endpoint.resilience && !endpoint.fallbacks && !endpoint.instances && !route?.fallbacks;
}

/**
 * `failure`: retryable and counted against the target (connection, timeout, 5xx); `throttled`: 429,
 * retryable but the target is alive; `fatal`: the caller's 4xx or a refusal, never retried.
 */
function classify(error: unknown): FailureKind {
  if (!(error instanceof GatewayException)) return 'fatal';
  const status = upstreamStatus.get(error);
  if (status !== undefined) {
    if (status === 429) return 'throttled';
    return status === 408 || status >= 500 ? 'failure' : 'fatal';
  }
  return error.code === GatewayErrorCode.UpstreamTimeout || error.code === GatewayErrorCode.UpstreamError
    ? 'failure'
    : 'fatal';
}

/** The status a failed target ended with, as the caller would have seen it. */
function statusOf(error: Error): number {
  return error instanceof GatewayException ? error.status : 502;
}

function retryAfterMs(error: unknown): number | undefined {
  return error instanceof GatewayException ? parseRetryAfter(error.options.retryAfter) : undefined;
}

function deadlineError(deadlineMs: number): GatewayException {
  return new GatewayException(
    504,
    GatewayErrorCode.UpstreamTimeout,
    `No upstream answered within the endpoint's ${deadlineMs} ms deadline.`,
  );
}

function circuitOpenError(target: EndpointEntry, cooldownMs: number | undefined): GatewayException {
  return new GatewayException(
    503,
    GatewayErrorCode.UpstreamUnavailable,
    `Endpoint '${target.name}' is temporarily unavailable: its circuit breaker is open after repeated upstream failures.`,
    cooldownMs === undefined ? {} : { retryAfter: String(Math.max(1, Math.ceil(cooldownMs / 1000))) },
  );
}

async function* prepend<T>(first: T, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  yield first;
  yield* rest;
}

/** A short, bounded label for a failed attempt. */
function attemptError(error: unknown, status: number | undefined): string {
  if (error instanceof GatewayException) {
    if (status !== undefined) return status >= 200 && status < 300 ? 'protocol' : 'status';
    if (error.status === 504) return 'timeout';
    return error.code === GatewayErrorCode.UpstreamError ? 'connect' : 'rejected';
  }
  return 'aborted';
}

function displayName(endpoint: EndpointEntry): string {
  return endpoint.adapter.displayName;
}
