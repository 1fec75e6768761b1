import { Price } from 'src/modules/limits/limit-rules';

/**
 * Built-in list prices, USD per million tokens (standard tier, no batch or cached-input discounts), as
 * published on openai.com/api/pricing and anthropic.com/pricing on 2025-06-15. Admin entries
 * (`/admin/v1/prices`, versioned by effective date) and an endpoint's `gatehouse.pricing` override them.
 */
export const DEFAULT_PRICES_AS_OF = '2025-06-15';

export const DEFAULT_PRICES: Record<string, Record<string, Price>> = {
  openai: {
    'gpt-4o': p(2.5, 10),
    'gpt-4o-mini': p(0.15, 0.6),
    'gpt-4.1': p(2, 8),
    'gpt-4.1-mini': p(0.4, 1.6),
    'gpt-4.1-nano': p(0.1, 0.4),
    o1: p(15, 60),
    'o1-mini': p(1.1, 4.4),
    'o1-pro': p(150, 600),
    o3: p(2, 8),
    'o3-mini': p(1.1, 4.4),
    'o3-pro': p(20, 80),
    'o4-mini': p(1.1, 4.4),
    'gpt-4-turbo': p(10, 30),
    'gpt-3.5-turbo': p(0.5, 1.5),
    'text-embedding-3-small': p(0.02, 0),
    'text-embedding-3-large': p(0.13, 0),
    'text-embedding-ada-002': p(0.1, 0),
  },
  anthropic: {
    'claude-3-haiku': p(0.25, 1.25),
    'claude-3-opus': p(15, 75),
    'claude-3-5-haiku': p(0.8, 4),
    'claude-3-5-sonnet': p(3, 15),
    'claude-3-7-sonnet': p(3, 15),
    'claude-sonnet-4': p(3, 15),
    'claude-opus-4': p(15, 75),
  },
};

/** The defaults as maps, built once (the request path looks prices up without allocating). */
export const DEFAULT_PRICE_MAPS: ReadonlyMap<string, ReadonlyMap<string, Price>> = new Map(
  Object.entries(DEFAULT_PRICES).map(([provider, models]) => [provider, new Map(Object.entries(models))]),
);

function p(inputPerMillion: number, outputPerMillion: number): Price {
  return { inputPerMillion, outputPerMillion };
}

/** Azure OpenAI deployments bill OpenAI's models at OpenAI's list prices. */
export function priceFamily(provider: string): string {
  return provider === 'azure' ? 'openai' : provider;
}

/**
 * The entry for a model name: exact, else the longest catalog name the model starts with followed by
 * `-` (so `gpt-4o-mini-2024-07-18` is `gpt-4o-mini`, never `gpt-4o`).
 */
export function matchModel<T>(
  entries: ReadonlyMap<string, T> | Record<string, T>,
  model: string,
): T | undefined {
  const map: ReadonlyMap<string, T> =
    entries instanceof Map
      ? (entries as ReadonlyMap<string, T>)
      : new Map(Object.entries(entries as Record<string, T>));
  const exact = map.get(model);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const name of map.keys()) {
    if (model.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : map.get(best);
}

/** Nano-USD (1e-9 USD) for a token count at a price per million: integer, rounded up. */
export function nanoUsd(tokens: number, perMillion: number): number {
  return Math.ceil(tokens * perMillion * 1000);
}
