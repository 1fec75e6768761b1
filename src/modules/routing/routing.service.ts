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
  ): Promise<CanonicalResponse> {
    this.ensureCapable(op, endpoint, false);
    const response = await this.send(this.build(op, request, endpoint, false), endpoint, signal);
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
    try {
      return endpoint.adapter.parseResponse(op, body, endpoint.target);
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
  ): Promise<AsyncGenerator<CanonicalChunk>> {
    this.ensureCapable(op, endpoint, true);
    const response = await this.send(this.build(op, request, endpoint, true), endpoint, signal);
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
    return this.chunks(response, endpoint.adapter.createStreamTranslator(op, endpoint.target), signal);
  }

  private async *chunks(
    response: UpstreamResponse,
    translator: StreamTranslator,
    signal: AbortSignal,
  ): AsyncGenerator<CanonicalChunk> {
    const parser = new SseParser();
    try {
      for await (const text of this.http.streamText(response, signal)) {
        for (const event of parser.feed(text)) {
          const step = translator.push(event);
          yield* step.chunks;
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
      yield* step.chunks;
      if (step.error) throw new UpstreamStreamError(step.error.message);
      if (step.done) return;
    }
    // A stream that ends cleanly after a finish reason but without [DONE] is complete (bad-inputs U11).
    if (!translator.finished) throw new UpstreamStreamError('upstream stream ended before completion');
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

function displayName(endpoint: EndpointEntry): string {
  const configured = endpoint.target.config;
  // NotYetSupportedAdapter keeps the provider's display name as its config.
  return typeof configured === 'string' ? configured : endpoint.adapter.displayName;
}
