import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { StringDecoder } from 'node:string_decoder';
import { Agent, buildConnector, Dispatcher, errors as undiciErrors } from 'undici';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { EgressPolicy, EgressRefused } from 'src/infra/http/egress-policy';
import { StreamingBody, UpstreamStream } from 'src/infra/http/upstream-stream';

export type UpstreamFailureKind = 'connect' | 'timeout' | 'aborted' | 'too_large' | 'protocol' | 'refused';

/** A transport-level failure talking to an upstream (no HTTP status was received, or the body broke). */
export class UpstreamFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** An outbound request: a provider's UpstreamRequest, or a GET (JWKS, discovery) / a webhook POST. */
export interface OutboundRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

/** A whole upstream answer, read into memory (bounded by UPSTREAM_MAX_RESPONSE_BYTES). */
export interface UpstreamText {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface SendOptions {
  signal: AbortSignal;
  /** A URL not written by the host operator: connect only where UPSTREAM_ALLOWED_HOSTS allows. */
  restricted?: boolean;
  headersTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** openStream only: read the body as raw bytes (`bytes()`) rather than UTF-8 text. */
  binary?: boolean;
}

/**
 * Pooled HTTP/1.1 keep-alive client for every upstream (providers, scoring servers). One undici
 * Agent keeps a connection pool per origin. Redirects are never followed (SSRF). URLs that did not
 * come from the host operator go through a second Agent whose connector admits only hosts and
 * resolved addresses UPSTREAM_ALLOWED_HOSTS allows, on every new connection (no DNS rebinding).
 */
@Injectable()
export class UpstreamHttpClient implements OnModuleDestroy {
  private readonly trusted: Agent;
  private readonly restricted: Agent;
  readonly egress: EgressPolicy;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const pool = {
      connections: config.UPSTREAM_CONNECTIONS,
      keepAliveTimeout: 30_000,
      headersTimeout: config.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeout: config.UPSTREAM_IDLE_TIMEOUT_MS,
    };
    this.trusted = new Agent({ ...pool, connect: { timeout: config.UPSTREAM_CONNECT_TIMEOUT_MS } });
    this.egress = new EgressPolicy(config.UPSTREAM_ALLOWED_HOSTS);
    this.restricted = new Agent({ ...pool, connect: guardedConnector(this.egress, config) });
  }

  private agentFor(options: SendOptions): Agent {
    return options.restricted ? this.restricted : this.trusted;
  }

  /** The restricted pool, for callers that speak undici themselves (active health checks). */
  restrictedDispatcher(): Dispatcher {
    return this.restricted;
  }

  /**
   * One of the two shared pools, for callers that speak undici's `request` themselves (health probes,
   * the MLflow registry client). Never build another Agent: UPSTREAM_CONNECTIONS caps these two.
   */
  dispatcher(restricted: boolean): Dispatcher {
    return restricted ? this.restricted : this.trusted;
  }

  async send(request: OutboundRequest, options: SendOptions): Promise<UpstreamResponse> {
    try {
      const response = await this.agentFor(options).request({
        ...splitUrl(request.url),
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: options.signal,
        headersTimeout: options.headersTimeoutMs ?? this.config.UPSTREAM_HEADERS_TIMEOUT_MS,
        bodyTimeout: options.idleTimeoutMs ?? this.config.UPSTREAM_IDLE_TIMEOUT_MS,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw classify(error, options.signal);
    }
  }

  /**
   * Sends a request and reads its whole answer as text: `send` + `readText` in one step, on undici's
   * dispatch API. A non-streaming call is the common case on the hot path, and this skips the response
   * stream, its async iterator and undici's AbortSignal wiring (one abort listener of our own instead).
   */
  fetchText(request: OutboundRequest, options: SendOptions): Promise<UpstreamText> {
    const { signal } = options;
    if (signal.aborted) return Promise.reject(new UpstreamFailure('aborted', 'request aborted'));
    const limit = this.config.UPSTREAM_MAX_RESPONSE_BYTES;
    const { origin, path } = splitUrl(request.url);
    return new Promise<UpstreamText>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      let aborted = false;
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      const chunks: Buffer[] = [];
      let size = 0;
      const onAbort = (): void => {
        aborted = true;
        controller?.abort(new UpstreamFailure('aborted', 'request aborted'));
      };
      const settle = (): void => signal.removeEventListener('abort', onAbort);
      signal.addEventListener('abort', onAbort, { once: true });
      this.agentFor(options).dispatch(
        {
          origin,
          path,
          method: request.method,
          headers: request.headers,
          body: request.body,
          headersTimeout: options.headersTimeoutMs ?? this.config.UPSTREAM_HEADERS_TIMEOUT_MS,
          bodyTimeout: options.idleTimeoutMs ?? this.config.UPSTREAM_IDLE_TIMEOUT_MS,
        },
        {
          onRequestStart(started) {
            controller = started;
            if (aborted) started.abort(new UpstreamFailure('aborted', 'request aborted'));
          },
          onResponseStart(_controller, statusCode, responseHeaders) {
            status = statusCode;
            headers = responseHeaders;
          },
          onResponseData(current, chunk) {
            size += chunk.length;
            if (size > limit) {
              current.abort(new UpstreamFailure('too_large', `upstream response exceeded ${limit} bytes`));
              return;
            }
            chunks.push(chunk);
          },
          onResponseEnd() {
            settle();
            const text =
              chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
            resolve({ status, headers, text });
          },
          onResponseError(_controller, error) {
            settle();
            reject(classify(error, signal));
          },
        },
      );
    });
  }

  /**
   * Sends a request whose answer is read as it arrives (Server-Sent Events). Resolves with the status and
   * headers; the body follows through `pieces()`. Like `fetchText`, on undici's dispatch API: no Node
   * stream and no AbortError with a stack trace when the reader stops after the last event.
   */
  openStream(request: OutboundRequest, options: SendOptions): Promise<UpstreamStream> {
    const { signal } = options;
    if (signal.aborted) return Promise.reject(new UpstreamFailure('aborted', 'request aborted'));
    const limit = this.config.UPSTREAM_MAX_RESPONSE_BYTES;
    return new Promise<UpstreamStream>((resolve, reject) => {
      const onAbort = (): void => body.abort(new UpstreamFailure('aborted', 'request aborted'));
      const body = new StreamingBody(
        { resolve, reject },
        limit,
        (error) => classify(error, signal),
        () => new UpstreamFailure('too_large', `upstream response exceeded ${limit} bytes`),
        () => signal.removeEventListener('abort', onAbort),
        options.binary === true,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.agentFor(options).dispatch(
        {
          ...splitUrl(request.url),
          method: request.method,
          headers: request.headers,
          body: request.body,
          headersTimeout: options.headersTimeoutMs ?? this.config.UPSTREAM_HEADERS_TIMEOUT_MS,
          bodyTimeout: options.idleTimeoutMs ?? this.config.UPSTREAM_IDLE_TIMEOUT_MS,
        },
        body,
      );
    });
  }

  /** Reads a whole body as text, bounded by UPSTREAM_MAX_RESPONSE_BYTES. */
  async readText(response: UpstreamResponse, signal: AbortSignal): Promise<string> {
    const limit = this.config.UPSTREAM_MAX_RESPONSE_BYTES;
    const decoder = new StringDecoder('utf8');
    let text = '';
    let size = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          response.body.destroy();
          throw new UpstreamFailure('too_large', `upstream response exceeded ${limit} bytes`);
        }
        text += decoder.write(chunk);
      }
    } catch (error) {
      throw classify(error, signal);
    }
    return text + decoder.end();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.trusted.close(), this.restricted.close()]);
  }
}

/**
 * undici connector for restricted upstreams: the host (and port) must be listed; an IP literal must be
 * allowed as an address; a name is resolved by a lookup that drops addresses the policy refuses.
 */
function guardedConnector(policy: EgressPolicy, config: AppConfig): buildConnector.connector {
  const byPort = new Map<number, buildConnector.connector>();
  return (options, callback) => {
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    const refused = policy.refuseHost(options.hostname, port);
    if (refused) {
      callback(new EgressRefused(`refused connection: ${refused}`), null);
      return;
    }
    let connect = byPort.get(port);
    if (!connect) {
      connect = buildConnector({
        timeout: config.UPSTREAM_CONNECT_TIMEOUT_MS,
        lookup: policy.lookupFor(port),
      });
      byPort.set(port, connect);
    }
    connect(options, callback);
  };
}

const splitUrls = new Map<string, { origin: string; path: string }>();

/**
 * `origin` and `path` of an upstream URL. Endpoints call the same few URLs over and over, so parses are
 * memoised (bounded: the map starts afresh past 1,000 distinct URLs).
 */
function splitUrl(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (split === undefined) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: parsed.pathname + parsed.search };
    if (splitUrls.size >= 1000) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return split;
}

function classify(error: unknown, signal: AbortSignal): UpstreamFailure {
  if (error instanceof UpstreamFailure) return error;
  if (error instanceof EgressRefused) return new UpstreamFailure('refused', error.message);
  if (signal.aborted) return new UpstreamFailure('aborted', 'request aborted');
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return new UpstreamFailure('timeout', error.message);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET') {
    return new UpstreamFailure('connect', String(code));
  }
  if (error instanceof undiciErrors.SocketError || error instanceof undiciErrors.UndiciError) {
    return new UpstreamFailure('connect', error.message);
  }
  return new UpstreamFailure('protocol', error instanceof Error ? error.message : String(error));
}
