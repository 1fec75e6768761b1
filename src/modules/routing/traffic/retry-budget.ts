import { RetryBudgetPolicy } from 'src/modules/routing/traffic/traffic-policy';

/**
 * Caps retries to a share of the requests a target saw recently (Envoy's retry budget), so an outage
 * does not multiply the load on it: a retry is allowed while retries in the window stay below
 * max(minRetries, ratio × requests). Two half-window buckets approximate the sliding window.
 */
export class RetryBudget {
  private bucketStart = 0;
  private current = { requests: 0, retries: 0 };
  private previous = { requests: 0, retries: 0 };

  constructor(
    private readonly policy: RetryBudgetPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a first attempt of a request. */
  request(): void {
    this.roll().requests++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean {
    const bucket = this.roll();
    const requests = bucket.requests + this.previous.requests;
    const retries = bucket.retries + this.previous.retries;
    if (retries >= Math.max(this.policy.minRetries, Math.floor(this.policy.ratio * requests))) return false;
    bucket.retries++;
    return true;
  }

  private roll(): { requests: number; retries: number } {
    const now = this.now();
    const half = this.policy.windowMs / 2;
    if (now - this.bucketStart >= half) {
      this.previous = now - this.bucketStart >= 2 * half ? { requests: 0, retries: 0 } : this.current;
      this.current = { requests: 0, retries: 0 };
      this.bucketStart = now;
    }
    return this.current;
  }
}
