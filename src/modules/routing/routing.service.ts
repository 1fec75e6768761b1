import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { UpstreamFailure, UpstreamHttpClient, UpstreamResponse } from 'src/infra/http/upstream-http.client';
import {
  AdapterRequestError,
  CanonicalChunk,
  CanonicalRequest,
  CanonicalResponse,
  Operation,
  StreamTranslator,
  UpstreamProtocolError,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { SseParser } from 'src/modules/providers/sse-parser';
import { EndpointEntry, RouteEntry, RouteTable } from 'src/modules/routing/route-table';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { fromUpstreamFailure, fromUpstreamStatus } from 'src/modules/routing/upstream-errors';
import { InvocationRecord } from 'src/common/observability/invocation';
import { AttemptScope, Telemetry } from 'src/common/observability/telemetry';

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
  constructor(
    private readonly tables: RouteTableHolder,
    private readonly http: UpstreamHttpClient,
    private readonly telemetry: Telemetry,
  ) {}

  resolve(name: string): RouteEntry | undefined {
    return this.tables.current.get(name);
  }

  table(): RouteTable {
    return this.tables.current;
  }

  async invoke(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    signal: AbortSignal,
    record?: InvocationRecord,
  ): Promise<CanonicalResponse> {
    this.ensureCapable(op, endpoint, false);
    const upstream = this.build(op, request, endpoint, false);
    const scope = this.startAttempt(op, endpoint, upstream, false, record);
    let status: number | undefined;
    try {
      const response = await this.send(upstream, endpoint, signal);
      status = response.status;
      const text = await this.readBody(response, signal);
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
        parsed = endpoint.adapter.parseResponse(op, body, endpoint.target);
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
      throw error;
    }
  }

  /** Counts the attempt on the request's record and opens its telemetry scope. */
  private startAttempt(
    op: Operation,
    endpoint: EndpointEntry,
    upstream: UpstreamRequest,
    stream: boolean,
    record: InvocationRecord | undefined,
  ): AttemptScope {
    let attempt = 1;
    if (record) {
      attempt = ++record.attempts;
      record.target = endpoint.name;
      record.provider = endpoint.provider;
      record.model = endpoint.modelName;
    }
    return this.telemetry.attempt(record, {
      operation: op,
      endpoint: endpoint.name,
      target: endpoint.name,
      provider: endpoint.provider,
      model: endpoint.modelName,
      attempt,
      stream,
      url: upstream.url,
    });
  }

  /**
   * Opens an upstream stream. Errors before the first upstream byte are thrown as GatewayException
   * (the caller still has its real status to send); later ones end the iterator with UpstreamStreamError.
   */
  async openStream(
    op: Operation,
    request: CanonicalRequest,
    endpoint: EndpointEntry,
    signal: AbortSignal,
    record?: InvocationRecord,
  ): Promise<AsyncGenerator<CanonicalChunk>> {
    this.ensureCapable(op, endpoint, true);
    const upstream = this.build(op, request, endpoint, true);
    const scope = this.startAttempt(op, endpoint, upstream, true, record);
    let status: number | undefined;
    try {
      const response = await this.send(upstream, endpoint, signal);
      status = response.status;
      if (response.status < 200 || response.status >= 300) {
        throw this.errorFrom(endpoint, response, await this.readBody(response, signal));
      }
      const contentType = String(response.headers['content-type'] ?? '');
      if (!contentType.includes('text/event-stream')) {
        response.body.destroy();
        throw new GatewayException(
          502,
          GatewayErrorCode.UpstreamError,
          'The upstream provider did not answer with an event stream.',
        );
      }
      return this.chunks(
        response,
        endpoint.adapter.createStreamTranslator(op, endpoint.target),
        signal,
        scope,
      );
    } catch (error) {
      scope.end({ status, error: attemptError(error, status) });
      throw error;
    }
  }

  private async *chunks(
    response: UpstreamResponse,
    translator: StreamTranslator,
    signal: AbortSignal,
    scope: AttemptScope,
  ): AsyncGenerator<CanonicalChunk> {
    const parser = new SseParser();
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
        for await (const text of this.http.streamText(response, signal)) {
          for (const event of parser.feed(text)) {
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
        throw error;
      } finally {
        if (!response.body.destroyed) response.body.destroy();
      }
      for (const event of parser.end()) {
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
    }
  }

  private ensureCapable(op: Operation, endpoint: EndpointEntry, stream: boolean): void {
    const capability = stream ? STREAM_CAPABILITY[op] : op;
    if (!endpoint.adapter.capabilities[capability]) {
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
    stream: boolean,
  ): UpstreamRequest {
    try {
      return endpoint.adapter.buildRequest(op, request, endpoint.target, stream);
    } catch (error) {
      if (error instanceof AdapterRequestError) {
        throw new GatewayException(error.status, GatewayErrorCode.InvalidRequest, error.message, {
          param: error.param,
        });
      }
      throw error;
    }
  }

  private async send(
    request: UpstreamRequest,
    endpoint: EndpointEntry,
    signal: AbortSignal,
  ): Promise<UpstreamResponse> {
    try {
      return await this.http.send(request, {
        signal,
        headersTimeoutMs: endpoint.timeouts.headersMs,
        idleTimeoutMs: endpoint.timeouts.idleMs,
      });
    } catch (error) {
      if (error instanceof UpstreamFailure) throw fromUpstreamFailure(error);
      throw error;
    }
  }

  private async readBody(response: UpstreamResponse, signal: AbortSignal): Promise<string> {
    try {
      return await this.http.readText(response, signal);
    } catch (error) {
      if (error instanceof UpstreamFailure) throw fromUpstreamFailure(error);
      throw error;
    }
  }

  private errorFrom(endpoint: EndpointEntry, response: UpstreamResponse, text: string): GatewayException {
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the adapter falls back to a generic message (HTML bodies are never echoed)
    }
    return fromUpstreamStatus(
      response.status,
      endpoint.adapter.parseError(response.status, body),
      response.headers,
    );
  }
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
  const configured = endpoint.target.config;
  // NotYetSupportedAdapter keeps the provider's display name as its config.
  return typeof configured === 'string' ? configured : endpoint.adapter.displayName;
}
