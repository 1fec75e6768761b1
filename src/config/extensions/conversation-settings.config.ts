/** An endpoint's `gatehouse.conversation` block: how conversation context is fitted to the model window. */
export interface ConversationSettings {
  strategy: 'truncate' | 'summarize';
  /** Endpoint (or route) that writes the running summary; required for `summarize`. */
  summarizerEndpoint: string | null;
  /** The model's window; defaults to the known window of the endpoint's model. */
  windowTokens: number | null;
  /** Tokens kept free for the reply when the caller sets no max_tokens. */
  reserveTokens: number;
  /** Longest running summary, in tokens. */
  summaryMaxTokens: number;
  /** Squeeze whitespace and drop repeated messages before fitting (tokens saved are reported). */
  compress: boolean;
}

const KEYS = [
  'strategy',
  'summarizer_endpoint',
  'window_tokens',
  'reserve_tokens',
  'summary_max_tokens',
  'compress',
];

export function readConversationSettings(value: unknown): {
  settings?: ConversationSettings;
  problems: string[];
} {
  if (value === undefined || value === null) return { problems: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { problems: ["'gatehouse.conversation' must be a mapping."] };
  }
  const raw = value as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(raw).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0)
    problems.push(`'gatehouse.conversation' has unknown key(s): ${unknown.join(', ')}.`);
  const strategy = raw.strategy ?? 'truncate';
  if (strategy !== 'truncate' && strategy !== 'summarize') {
    problems.push("'gatehouse.conversation.strategy' must be 'truncate' or 'summarize'.");
  }
  const summarizer = raw.summarizer_endpoint;
  if (summarizer !== undefined && (typeof summarizer !== 'string' || summarizer === '')) {
    problems.push("'gatehouse.conversation.summarizer_endpoint' must be an endpoint name.");
  }
  if (strategy === 'summarize' && summarizer === undefined) {
    problems.push("'gatehouse.conversation.summarizer_endpoint' is required with strategy 'summarize'.");
  }
  const int = (key: string, min: number, fallback: number | null): number | null => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > 10_000_000) {
      problems.push(`'gatehouse.conversation.${key}' must be an integer from ${min} to 10000000.`);
      return fallback;
    }
    return v as number;
  };
  const windowTokens = int('window_tokens', 64, null);
  const reserveTokens = int('reserve_tokens', 1, 256) as number;
  const summaryMaxTokens = int('summary_max_tokens', 16, 256) as number;
  if (windowTokens !== null && reserveTokens + summaryMaxTokens >= windowTokens) {
    problems.push(
      "'gatehouse.conversation': reserve_tokens + summary_max_tokens must be below window_tokens.",
    );
  }
  if (raw.compress !== undefined && typeof raw.compress !== 'boolean') {
    problems.push("'gatehouse.conversation.compress' must be true or false.");
  }
  if (problems.length > 0) return { problems };
  return {
    settings: {
      strategy: strategy as ConversationSettings['strategy'],
      summarizerEndpoint: (summarizer as string | undefined) ?? null,
      windowTokens,
      reserveTokens,
      summaryMaxTokens,
      compress: raw.compress === true,
    },
    problems,
  };
}
