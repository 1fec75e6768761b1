/*
 * Latencies are counted in fixed exponential buckets (1 ms × 1.25^i, up to ~2 minutes), so per-replica
 * histograms add up exactly and a p95 over all replicas is one sum away; the estimate is the upper bound
 * of the bucket the 95th percentile falls in (at most 25% high, never low).
 */
const FACTOR = 1.25;
export const BUCKET_COUNT = 54;
export const BUCKET_BOUNDS: readonly number[] = Array.from({ length: BUCKET_COUNT }, (_, i) =>
  i === BUCKET_COUNT - 1 ? Infinity : Math.round(FACTOR ** i * 100) / 100,
);

export function emptyHistogram(): number[] {
  return new Array<number>(BUCKET_COUNT).fill(0);
}

export function bucketOf(latencyMs: number): number {
  for (let i = 0; i < BUCKET_COUNT; i++) if (latencyMs <= BUCKET_BOUNDS[i]) return i;
  return BUCKET_COUNT - 1;
}

export function addHistogram(into: number[], from: readonly number[]): void {
  for (let i = 0; i < BUCKET_COUNT; i++) into[i] += from[i] ?? 0;
}

/** The `q` quantile (0–1) in ms, or undefined for an empty histogram. */
export function quantile(histogram: readonly number[], q: number): number | undefined {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < BUCKET_COUNT; i++) {
    seen += histogram[i];
    if (seen >= rank) return i === BUCKET_COUNT - 1 ? BUCKET_BOUNDS[BUCKET_COUNT - 2] : BUCKET_BOUNDS[i];
  }
  return BUCKET_BOUNDS[BUCKET_COUNT - 2];
}
