import type { InvocationAnswer, InvocationContext } from 'src/modules/pipeline/invocation-context';
import type {
  CanonicalChunk,
  CanonicalResponse,
  JsonObject,
  Operation,
} from 'src/modules/providers/provider-adapter';

/** A failure after a stream's first byte, as the stream's terminal event describes it. */
export interface StreamFailure {
  status: number;
  message: string;
  /** The gateway's error code (`upstream_error`, `content_policy_violation`, …). */
  code: string;
  /** An OpenAI-style `error.type` the gateway chose for it, if any. */
  type?: string;
}

/** Writes one client's streaming event format from canonical chunks; one instance per stream. */
export interface SseEncoder {
  /** The stream's content type when it is not `text/event-stream` (Gemini's streamed JSON array). */
  readonly contentType?: string;
  /** The frames (`event:`/`data:` lines, blank-line terminated) for one chunk; '' forwards nothing. */
  chunk(chunk: CanonicalChunk): string;
  /** The frames that end a stream that completed. */
  end(): string;
  /** The terminal frame of a stream that failed after it started. */
  error(failure: StreamFailure): string;
}

/**
 * A wire format a client speaks to the gateway other than the canonical (OpenAI) one, e.g. Anthropic
 * Messages. The pipeline decodes the body into the canonical request at the edge (the invocation
 * guard, before prompt rendering and validation) and encodes the canonical answer back at the edge
 * (the response interceptor); every stage in between only ever sees canonical shapes. The error
 * envelope is chosen from the path (src/common/errors), since auth refusals happen before any route
 * is known. Registered per surface in inbound-formats.ts.
 */
export interface InboundFormat {
  /**
   * The client's body as a canonical (OpenAI-shaped) body for `op`, validated afterwards like any
   * other. Throws a 4xx GatewayException for what the format itself forbids. `stream` is set when the
   * path itself asks for a stream (Gemini's `:streamGenerateContent`).
   */
  decode(body: unknown, op: Operation, answer: InvocationAnswer, stream: boolean): JsonObject;
  /** A canonical answer as the client's JSON body. */
  encode(response: CanonicalResponse, op: Operation, ctx: InvocationContext): unknown;
  /** A fresh encoder for one streamed answer. */
  streamEncoder(ctx: InvocationContext): SseEncoder;
  /** A token count the gateway answered itself (`answer: 'token-count'`) as the client's JSON body. */
  tokenCount(inputTokens: number): unknown;
}
