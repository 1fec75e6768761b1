/**
 * The contract every provider adapter implements. Adapters are pure translators: they turn a
 * canonical (OpenAI-shaped) request into the provider's HTTP request, and the provider's response,
 * stream events and error bodies back into canonical shapes. They never perform I/O, retries,
 * caching or billing; the routing layer owns the HTTP call.
 */

export type EndpointType = 'llm/v1/chat' | 'llm/v1/completions' | 'llm/v1/embeddings';
export type Operation = 'chat' | 'completions' | 'embeddings';

export const OPERATION_OF: Record<EndpointType, Operation> = {
  'llm/v1/chat': 'chat',
  'llm/v1/completions': 'completions',
  'llm/v1/embeddings': 'embeddings',
};

/** A JSON object as received from a client (already validated by the inference layer). */
export type JsonObject = Record<string, unknown>;

export interface ChatMessage {
  role: string;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[] | null;
  tool_call_id?: string;
  refusal?: string | null;
  [extra: string]: unknown;
}

export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } }
  | { type: string; [key: string]: unknown };

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Canonical chat request: OpenAI Chat Completions body. Unknown keys pass through on purpose. */
export interface ChatRequest extends JsonObject {
  messages: ChatMessage[];
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: JsonObject } }[];
  tool_choice?: unknown;
}

export interface CompletionsRequest extends JsonObject {
  prompt: string | string[];
  model?: string;
  stream?: boolean;
  max_tokens?: number;
  temperature?: number;
  n?: number;
  stop?: string | string[];
}

export interface EmbeddingsRequest extends JsonObject {
  input: string | string[] | number[] | number[][];
  model?: string;
  encoding_format?: 'float' | 'base64';
}

export type CanonicalRequest = ChatRequest | CompletionsRequest | EmbeddingsRequest;

export interface Usage {
  prompt_tokens: number | null;
  completion_tokens?: number | null;
  total_tokens: number | null;
  [extra: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: ChatMessage;
    finish_reason: string | null;
    [extra: string]: unknown;
  }[];
  usage?: Usage | null;
  [extra: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { [K in keyof ChatMessage as K extends 'tool_calls' ? never : K]?: ChatMessage[K] } & {
      /** Streamed tool calls: the first delta of a call carries id/type/name, later ones only arguments. */
      tool_calls?: {
        index: number;
        id?: string;
        type?: 'function';
        function?: { name?: string; arguments?: string };
      }[];
    };
    finish_reason: string | null;
    [extra: string]: unknown;
  }[];
  usage?: Usage | null;
  [extra: string]: unknown;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: string | null; [extra: string]: unknown }[];
  usage?: Usage | null;
  [extra: string]: unknown;
}

export interface Embeddings {
  object: 'list';
  data: { object: 'embedding'; embedding: number[] | string; index: number }[];
  model: string;
  usage: Usage;
}

/** A stream chunk in canonical form; completions streams use `text_completion` objects as OpenAI does. */
export type CanonicalChunk = ChatCompletionChunk | TextCompletion;
export type CanonicalResponse = ChatCompletion | TextCompletion | Embeddings;

/** An HTTP request for the upstream; the routing layer sends it through a pooled undici client. */
export interface UpstreamRequest {
  /** Absolute URL. Built only from configuration, never from the client's body. */
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

/** One Server-Sent Event as parsed from the upstream byte stream. */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Error shape an adapter extracts from an upstream error response. */
export interface UpstreamErrorInfo {
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/** The outcome of feeding one upstream stream event to a translator. */
export interface StreamStep {
  /** Canonical chunks to send to the client, in order (may be empty). */
  chunks: CanonicalChunk[];
  /** The upstream signalled the end of the stream (OpenAI `[DONE]`, Anthropic `message_stop`). */
  done?: boolean;
  /** The upstream reported an error inside the stream. */
  error?: UpstreamErrorInfo;
}

export interface StreamTranslator {
  push(event: SseEvent): StreamStep;
  /** True once the model reported a finish reason; lets a stream that ends without `[DONE]` finish cleanly. */
  readonly finished: boolean;
}

/** Static facts about a configured model target, resolved once when the config loads. */
export interface TargetContext<TConfig = unknown> {
  endpointName: string;
  endpointType: EndpointType;
  /** `model.name` from the YAML (may be absent for some providers). */
  modelName: string | undefined;
  /** The adapter's own parsed, validated configuration (secrets already resolved). */
  config: TConfig;
}

export interface AdapterCapabilities {
  chat: boolean;
  chatStream: boolean;
  completions: boolean;
  completionsStream: boolean;
  embeddings: boolean;
}

export class ProviderConfigError extends Error {}

/**
 * Thrown by `authorize` when no credentials could be had for the upstream (e.g. an STS exchange
 * failed). The message is for logs only; callers see a generic gateway error.
 */
export class ProviderAuthError extends Error {}

/** Turns a binary upstream stream into events for the adapter's StreamTranslator. */
export interface StreamDecoder {
  /** Bytes as they arrive; returns the events completed by them. Throws UpstreamProtocolError on a corrupt frame. */
  feed(bytes: Uint8Array): SseEvent[];
  /** The body ended; throws UpstreamProtocolError when an incomplete frame is left over. */
  end(): SseEvent[];
}

/** A streaming wire format other than Server-Sent Events (e.g. AWS event-stream binary frames). */
export interface StreamFraming {
  /** The content type a streaming answer must carry (checked before decoding). */
  contentType: string;
  createDecoder(): StreamDecoder;
}

export interface ProviderAdapter<TConfig = unknown> {
  /** Provider ids as written in `model.provider` (already normalised: lower case, `_` → `-`). */
  readonly providers: readonly string[];
  /** Human name used in MLflow's messages, e.g. "OpenAI", "Anthropic". */
  readonly displayName: string;
  readonly capabilities: AdapterCapabilities;

  /**
   * Validate and normalise `model.config` from the YAML. Throws ProviderConfigError with a message
   * fit for the operator. `provider` is the normalised provider id (adapters may serve several).
   */
  parseConfig(raw: JsonObject, provider: string, modelName: string | undefined): TConfig;

  /** Build the upstream HTTP request. `stream` asks for a streaming upstream call. */
  buildRequest(
    op: Operation,
    request: CanonicalRequest,
    target: TargetContext<TConfig>,
    stream: boolean,
  ): UpstreamRequest;

  /**
   * Translate a successful (2xx) upstream JSON body into the canonical response. `request` is the
   * canonical request it answers (e.g. for `encoding_format` when the provider has no such option).
   */
  parseResponse(
    op: Operation,
    body: unknown,
    target: TargetContext<TConfig>,
    request?: CanonicalRequest,
  ): CanonicalResponse;

  /** A translator for one streaming response. */
  createStreamTranslator(op: Operation, target: TargetContext<TConfig>): StreamTranslator;

  /**
   * Extract a message from an upstream error body (already parsed if it was JSON). `headers` are the
   * response's (lower-case names), for providers that name the error there (AWS `x-amzn-errortype`).
   */
  parseError(
    status: number,
    body: unknown,
    headers?: Record<string, string | string[] | undefined>,
  ): UpstreamErrorInfo;

  /**
   * Optional: authorise a built request just before it is sent (AWS SigV4 signing with credentials
   * that may need a network exchange, refreshed before they expire). Called once per attempt, after
   * `buildRequest`; rejects with ProviderAuthError when no credentials can be had. Adapters without
   * it send `buildRequest`'s result as is.
   */
  authorize?(request: UpstreamRequest, target: TargetContext<TConfig>): Promise<UpstreamRequest>;

  /** Optional: a streaming format other than Server-Sent Events; absent means SSE. */
  readonly streamFraming?: StreamFraming;

  /**
   * Optional: the most embedding inputs one upstream call takes for this target (Amazon Titan: 1).
   * Routing splits a longer `input` list into calls of that size and joins the answers in order, so a
   * client's batch works whatever the model takes. Absent: no limit of the gateway's own.
   */
  embeddingsPerCall?(target: TargetContext<TConfig>): number | undefined;
}

/** Thrown by adapters when a request cannot be expressed for this provider (a client error). */
export class AdapterRequestError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 422 | 501 = 400,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** Thrown by adapters when an upstream 2xx body is not what the provider documents. */
export class UpstreamProtocolError extends Error {}
