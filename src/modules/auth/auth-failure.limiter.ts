/**
 * Counts failed authentications per source address in a fixed window; past the limit the source gets
 * 429 until the window ends. In memory and bounded: the oldest sources are evicted first, so a spray
 * from many addresses cannot grow it without limit. Per replica by design (no shared state on the
 * failure path).
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxSources = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the source must wait, or 0 when it may try. */
  blockedFor(source: string): number {
    const entry = this.windows.get(source);
    if (!entry) return 0;
    const elapsed = this.now() - entry.start;
    if (elapsed >= this.windowMs) {
      this.windows.delete(source);
      return 0;
    }
    return entry.failures >= this.limit ? Math.max(1, Math.ceil((this.windowMs - elapsed) / 1000)) : 0;
  }

  recordFailure(source: string): void {
    const now = this.now();
    const entry = this.windows.get(source);
    if (entry && now - entry.start < this.windowMs) {
      entry.failures += 1;
      return;
    }
    this.windows.delete(source);
    if (this.windows.size >= this.maxSources) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(source, { start: now, failures: 1 });
  }

  size(): number {
    return this.windows.size;
  }
}
