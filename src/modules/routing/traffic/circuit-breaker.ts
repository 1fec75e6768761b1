import { CircuitBreakerPolicy } from 'src/modules/routing/traffic/traffic-policy';

export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * A per-target circuit breaker. Closed: calls flow; it opens after `consecutiveFailures` failures in a
 * row, or when the failure ratio over the last window reaches `errorRate` (with at least `minRequests`
 * calls). Open: calls are refused without touching the target until `cooldownMs` passed; then one
 * half-open probe goes through: its success closes the circuit, its failure re-opens it.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;
  /** Two half-window buckets approximate a sliding window cheaply. */
  private bucketStart = 0;
  private current = { calls: 0, failures: 0 };
  private previous = { calls: 0, failures: 0 };

  constructor(
    private readonly policy: CircuitBreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get status(): CircuitState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.policy.cooldownMs) return 'half_open';
    return this.state;
  }

  /** Whether a call may go to the target now; in half-open, only one probe at a time. */
  tryAcquire(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.policy.cooldownMs) return false;
      this.state = 'half_open';
      this.probing = false;
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  onSuccess(): void {
    if (this.state !== 'closed') {
      this.close();
      return;
    }
    this.consecutive = 0;
    this.count(false);
  }

  onFailure(): void {
    if (this.state === 'half_open') {
      this.open();
      return;
    }
    if (this.state === 'open') return;
    this.consecutive++;
    this.count(true);
    if (this.consecutive >= this.policy.consecutiveFailures || this.rateTripped()) this.open();
  }

  /** A call that ended without a verdict (the caller went away): frees the half-open probe slot. */
  onCancel(): void {
    if (this.state === 'half_open') this.probing = false;
  }

  private rateTripped(): boolean {
    const rate = this.policy.errorRate;
    if (rate === undefined) return false;
    const calls = this.current.calls + this.previous.calls;
    const failures = this.current.failures + this.previous.failures;
    return calls >= this.policy.minRequests && failures / calls >= rate;
  }

  private count(failed: boolean): void {
    const now = this.now();
    const half = this.policy.windowMs / 2;
    if (now - this.bucketStart >= half) {
      this.previous = now - this.bucketStart >= 2 * half ? { calls: 0, failures: 0 } : this.current;
      this.current = { calls: 0, failures: 0 };
      this.bucketStart = now;
    }
    this.current.calls++;
    if (failed) this.current.failures++;
  }

  private open(): void {
    this.state = 'open';
    this.openedAt = this.now();
    this.probing = false;
  }

  private close(): void {
    this.state = 'closed';
    this.consecutive = 0;
    this.probing = false;
    this.current = { calls: 0, failures: 0 };
    this.previous = { calls: 0, failures: 0 };
    this.bucketStart = this.now();
  }
}
