/**
 * Context windows (input + output tokens) of common models, matched by the longest name prefix after any
 * `provider/` part (e.g. `meta-llama/Llama-3.1-8B-Instruct`). Figures are the providers' published
 * limits; an endpoint's `gatehouse.conversation.window_tokens` overrides them.
 */
const WINDOWS: readonly [prefix: string, tokens: number][] = [
  ['gpt-5', 400_000],
  ['gpt-4.1', 1_047_576],
  ['gpt-4o', 128_000],
  ['chatgpt-4o', 128_000],
  ['gpt-4-turbo', 128_000],
  ['gpt-4-32k', 32_768],
  ['gpt-4', 8_192],
  ['gpt-3.5-turbo-instruct', 4_096],
  ['gpt-3.5-turbo', 16_385],
  ['o1-mini', 128_000],
  ['o1', 200_000],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['claude-3', 200_000],
  ['claude-opus-4', 200_000],
  ['claude-sonnet-4', 200_000],
  ['claude-haiku-4', 200_000],
  ['claude-', 200_000],
  ['gemini-1.5-pro', 2_097_152],
  ['gemini-1.5-flash', 1_048_576],
  ['gemini-2', 1_048_576],
  ['llama-3.1', 131_072],
  ['llama-3.2', 131_072],
  ['llama-3.3', 131_072],
  ['llama3', 8_192],
  ['mistral-large', 131_072],
  ['mistral-small', 32_768],
  ['mixtral-8x7b', 32_768],
  ['command-r', 128_000],
  ['deepseek-chat', 65_536],
  ['qwen2.5', 32_768],
];

const SORTED = [...WINDOWS].sort((a, b) => b[0].length - a[0].length);

/** Used when neither the endpoint nor the table knows the model: small enough to be safe for most. */
export const DEFAULT_WINDOW_TOKENS = 8_192;

export function knownWindow(model: string | undefined): number | undefined {
  if (!model) return undefined;
  const name = model.toLowerCase().split('/').pop() ?? '';
  return SORTED.find(([prefix]) => name.startsWith(prefix))?.[1];
}
