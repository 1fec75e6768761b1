import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import {
  CanonicalRequest,
  ChatRequest,
  CompletionsRequest,
  EmbeddingsRequest,
  Operation,
} from 'src/modules/providers/provider-adapter';

/** A client mistake in the body; carries the field path so MLflow's surface can answer FastAPI-style. */
export class RequestValidationError extends GatewayException {
  constructor(message: string, param: string) {
    super(400, GatewayErrorCode.InvalidRequest, message, { param });
  }
}

/** Hard caps against denial-of-wallet fan-out (bad-inputs I10). */
export const LIMITS = {
  messages: 4096,
  tools: 128,
  stopSequences: 16,
  n: 128,
  maxTokens: 10_000_000,
  embeddingInputs: 2048,
  promptItems: 2048,
  logitBias: 1024,
} as const;

/**
 * Keys that would let a caller steer where or how the gateway calls upstream (LiteLLM SSRF class,
 * bad-inputs I14). They are refused, never forwarded and never honoured.
 */
const FORBIDDEN_KEYS = [
  'api_base',
  'base_url',
  'api_key',
  'api_version',
  'api_type',
  'organization',
  'extra_headers',
  'headers',
  'deployment_name',
  'custom_llm_provider',
  'openai_api_base',
  'openai_api_key',
  'anthropic_api_key',
];

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

type Body = Record<string, unknown>;

function fail(message: string, param: string): never {
  throw new RequestValidationError(message, param);
}

function number(body: Body, key: string, min: number, max: number, integer: boolean): void {
  const value = body[key];
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`'${key}' must be a finite number.`, key);
  if (integer && !Number.isSafeInteger(value)) fail(`'${key}' must be an integer.`, key);
  if (value < min || value > max) fail(`'${key}' must be between ${min} and ${max}, got ${value}.`, key);
}

function boolean(body: Body, key: string): void {
  const value = body[key];
  if (value !== undefined && value !== null && typeof value !== 'boolean')
    fail(`'${key}' must be a boolean.`, key);
}

function object(body: Body, key: string): void {
  const value = body[key];
  if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    fail(`'${key}' must be an object.`, key);
  }
}

function checkForbidden(body: Body): void {
  for (const key of FORBIDDEN_KEYS) {
    if (key in body) {
      fail(
        `'${key}' is not allowed in a request: the upstream is chosen by the gateway's configuration.`,
        key,
      );
    }
  }
}

function checkSampling(body: Body): void {
  number(body, 'temperature', 0, 2, false);
  number(body, 'top_p', 0, 1, false);
  number(body, 'presence_penalty', -2, 2, false);
  number(body, 'frequency_penalty', -2, 2, false);
  number(body, 'max_tokens', 1, LIMITS.maxTokens, true);
  number(body, 'max_completion_tokens', 1, LIMITS.maxTokens, true);
  number(body, 'n', 1, LIMITS.n, true);
  number(body, 'top_k', 1, 1_000_000, true);
  number(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  boolean(body, 'stream');
  object(body, 'stream_options');
  if (body.stream_options && typeof body.stream_options === 'object') {
    boolean(body.stream_options as Body, 'include_usage');
  }
  const stop = body.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string') {
    if (
      !Array.isArray(stop) ||
      stop.length > LIMITS.stopSequences ||
      stop.some((s) => typeof s !== 'string')
    ) {
      fail(`'stop' must be a string or a list of at most ${LIMITS.stopSequences} strings.`, 'stop');
    }
  }
  const bias = body.logit_bias;
  if (bias !== undefined && bias !== null) {
    object(body, 'logit_bias');
    if (Object.keys(bias).length > LIMITS.logitBias) {
      fail(`'logit_bias' may hold at most ${LIMITS.logitBias} entries.`, 'logit_bias');
    }
  }
  if (body.model !== undefined && body.model !== null && typeof body.model !== 'string') {
    fail(`'model' must be a string.`, 'model');
  }
}

function checkMessage(message: unknown, index: number): void {
  const where = `messages[${index}]`;
  if (message === null || typeof message !== 'object' || Array.isArray(message))
    fail(`'${where}' must be an object.`, where);
  const m = message as Body;
  if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
    fail(`'${where}.role' must be one of ${[...ROLES].join(', ')}.`, `${where}.role`);
  }
  const content = m.content;
  if (Array.isArray(content)) {
    content.forEach((part, i) => {
      if (part === null || typeof part !== 'object' || typeof (part as Body).type !== 'string') {
        fail(`'${where}.content[${i}]' must be an object with a 'type'.`, `${where}.content`);
      }
    });
  } else if (content !== undefined && content !== null && typeof content !== 'string') {
    fail(`'${where}.content' must be a string, a list of content parts, or null.`, `${where}.content`);
  }
  if (m.tool_calls !== undefined && m.tool_calls !== null && !Array.isArray(m.tool_calls)) {
    fail(`'${where}.tool_calls' must be a list.`, `${where}.tool_calls`);
  }
}

export function validateChat(body: Body): ChatRequest {
  checkForbidden(body);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    fail(`'messages' must be a non-empty list.`, 'messages');
  if (messages.length > LIMITS.messages)
    fail(`'messages' may hold at most ${LIMITS.messages} items.`, 'messages');
  messages.forEach(checkMessage);
  checkSampling(body);
  boolean(body, 'logprobs');
  number(body, 'top_logprobs', 0, 20, true);
  const tools = body.tools;
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools) || tools.length > LIMITS.tools)
      fail(`'tools' must be a list of at most ${LIMITS.tools}.`, 'tools');
    tools.forEach((tool, i) => {
      const fn = (tool as Body | null)?.function as Body | undefined;
      if (
        !tool ||
        typeof tool !== 'object' ||
        typeof (tool as Body).type !== 'string' ||
        !fn ||
        typeof fn.name !== 'string'
      ) {
        fail(`'tools[${i}]' must be {"type": "function", "function": {"name": …}}.`, `tools[${i}]`);
      }
    });
  }
  return body as ChatRequest;
}

export function validateCompletions(body: Body): CompletionsRequest {
  checkForbidden(body);
  const prompt = body.prompt;
  const isList = Array.isArray(prompt);
  if (typeof prompt !== 'string' && !isList)
    fail(`'prompt' must be a string or a list of strings.`, 'prompt');
  if (
    isList &&
    (prompt.length === 0 || prompt.length > LIMITS.promptItems || prompt.some((p) => typeof p !== 'string'))
  ) {
    fail(`'prompt' must be a non-empty list of at most ${LIMITS.promptItems} strings.`, 'prompt');
  }
  checkSampling(body);
  number(body, 'best_of', 1, 20, true);
  number(body, 'logprobs', 0, 5, true);
  boolean(body, 'echo');
  return body as CompletionsRequest;
}

function isIntArray(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)
  );
}

export function validateEmbeddings(body: Body): EmbeddingsRequest {
  checkForbidden(body);
  const input = body.input;
  const valid =
    (typeof input === 'string' && input.length > 0) ||
    (Array.isArray(input) &&
      input.length > 0 &&
      input.length <= LIMITS.embeddingInputs &&
      (input.every((v) => typeof v === 'string') || isIntArray(input) || input.every(isIntArray)));
  if (!valid) {
    fail(
      `'input' must be a non-empty string, or a non-empty list (at most ${LIMITS.embeddingInputs}) of strings or token arrays.`,
      'input',
    );
  }
  if (
    body.encoding_format !== undefined &&
    body.encoding_format !== 'float' &&
    body.encoding_format !== 'base64'
  ) {
    fail(`'encoding_format' must be 'float' or 'base64'.`, 'encoding_format');
  }
  number(body, 'dimensions', 1, 100_000, true);
  if (body.model !== undefined && body.model !== null && typeof body.model !== 'string')
    fail(`'model' must be a string.`, 'model');
  return body as EmbeddingsRequest;
}

export function validateRequest(op: Operation, body: Body): CanonicalRequest {
  if (op === 'chat') return validateChat(body);
  if (op === 'completions') return validateCompletions(body);
  return validateEmbeddings(body);
}
