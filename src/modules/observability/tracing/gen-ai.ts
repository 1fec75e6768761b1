import { Attributes } from '@opentelemetry/api';

/** Our provider ids → `gen_ai.provider.name` well-known values (others pass through unchanged). */
const PROVIDER_NAMES: Record<string, string> = {
  openai: 'openai',
  azure: 'azure.ai.openai',
  anthropic: 'anthropic',
  groq: 'groq',
  deepseek: 'deepseek',
  xai: 'x_ai',
  mistral: 'mistral_ai',
  gemini: 'gcp.gemini',
  vertex_ai: 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  cohere: 'cohere',
  perplexity: 'perplexity',
};

/** Our operations → `gen_ai.operation.name` (`predict` is ours: an MLflow scoring call). */
const OPERATION_NAMES: Record<string, string> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  predict: 'predict',
};

export function genAiProvider(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider;
}

export function genAiOperation(operation: string): string {
  return OPERATION_NAMES[operation] ?? operation;
}

/** Sets only the defined values (span attributes cannot be undefined). */
export function definedAttributes(values: Record<string, string | number | boolean | undefined>): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}
