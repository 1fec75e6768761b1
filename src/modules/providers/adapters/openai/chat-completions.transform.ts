import {
  CanonicalRequest,
  CanonicalResponse,
  Operation,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import { OpenAIWireConfig } from 'src/modules/providers/adapters/openai/openai-config';

const PATH_OF: Record<Operation, string> = {
  chat: 'chat/completions',
  completions: 'completions',
  embeddings: 'embeddings',
};

export function upstreamUrl(config: OpenAIWireConfig, op: Operation): string {
  if (config.apiType === 'openai') return `${config.apiBase}/${PATH_OF[op]}`;
  const deployment = encodeURIComponent(config.deploymentName ?? '');
  const version = encodeURIComponent(config.apiVersion ?? '');
  return `${config.apiBase}/openai/deployments/${deployment}/${PATH_OF[op]}?api-version=${version}`;
}

export function upstreamHeaders(config: OpenAIWireConfig): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (config.apiKey !== undefined) {
    if (config.apiType === 'azure') headers['api-key'] = config.apiKey;
    else headers.authorization = `Bearer ${config.apiKey}`;
  }
  if (config.organization) headers['openai-organization'] = config.organization;
  return headers;
}

/**
 * The request is already OpenAI-shaped: the configured model replaces the caller's `model` (which
 * names our endpoint), and unknown parameters pass through for the provider to judge.
 */
export function toUpstreamBody(
  config: OpenAIWireConfig,
  op: Operation,
  request: CanonicalRequest,
  modelName: string | undefined,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...request };
  if (config.apiType === 'openai' && modelName !== undefined) body.model = modelName;
  else delete body.model;
  if (op !== 'embeddings') {
    if (stream) {
      body.stream = true;
      if (config.requestStreamUsage)
        body.stream_options = { ...asObject(body.stream_options), include_usage: true };
    } else {
      delete body.stream;
      delete body.stream_options;
    }
  }
  return body;
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

const OBJECT_OF: Record<Operation, string> = {
  chat: 'chat.completion',
  completions: 'text_completion',
  embeddings: 'list',
};

/** Checks the documented response shape; anything else (HTML from a proxy, truncated JSON) is a 502. */
export function fromUpstreamBody(op: Operation, body: unknown): CanonicalResponse {
  if (body === null || typeof body !== 'object')
    throw new UpstreamProtocolError('response is not a JSON object');
  const record = body as Record<string, unknown>;
  const list = op === 'embeddings' ? record.data : record.choices;
  if (!Array.isArray(list)) {
    throw new UpstreamProtocolError(`response has no '${op === 'embeddings' ? 'data' : 'choices'}' array`);
  }
  if (record.object === undefined) record.object = OBJECT_OF[op];
  return record as unknown as CanonicalResponse;
}
