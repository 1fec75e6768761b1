/**
 * A predict endpoint's `gatehouse.batch` block: scoring requests with more rows than `max_rows_per_call`
 * are split into chunks of at most that many rows, scored `concurrency` chunks at a time over the
 * version's scoring servers, and joined back in order.
 */
export interface ScoringBatchSettings {
  maxRowsPerCall: number;
  concurrency: number;
}

export const DEFAULT_BATCH_CONCURRENCY = 4;
/** A ceiling on one request's parallel calls, so one caller cannot monopolise the scoring servers. */
export const MAX_BATCH_CONCURRENCY = 64;

const KEYS = ['max_rows_per_call', 'concurrency'];

function positiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

export function readScoringBatchSettings(value: unknown): {
  settings?: ScoringBatchSettings;
  problems: string[];
} {
  if (value === undefined || value === null) return { problems: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { problems: ["'gatehouse.batch' must be a mapping with 'max_rows_per_call'."] };
  }
  const raw = value as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(raw).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) problems.push(`'gatehouse.batch' has unknown key(s): ${unknown.join(', ')}.`);
  if (!positiveInt(raw.max_rows_per_call)) {
    problems.push("'gatehouse.batch.max_rows_per_call' must be a positive integer (rows per scoring call).");
  }
  const concurrency = raw.concurrency ?? DEFAULT_BATCH_CONCURRENCY;
  if (!positiveInt(concurrency) || concurrency > MAX_BATCH_CONCURRENCY) {
    problems.push(
      `'gatehouse.batch.concurrency' must be an integer from 1 to ${MAX_BATCH_CONCURRENCY} (default ${DEFAULT_BATCH_CONCURRENCY}).`,
    );
  }
  if (problems.length > 0) return { problems };
  return {
    settings: { maxRowsPerCall: raw.max_rows_per_call as number, concurrency: concurrency as number },
    problems,
  };
}
