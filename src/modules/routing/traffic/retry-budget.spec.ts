import { parseRetryAfter, retryDelayMs } from 'src/modules/routing/traffic/backoff';
import { RetryBudget } from 'src/modules/routing/traffic/retry-budget';
import { RetryPolicy } from 'src/modules/routing/traffic/traffic-policy';

describe('RetryBudget', () => {
  let now = 0;
  const clock = () => now;

  it('allows retries up to the ratio of recent requests, with a floor', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetries: 3, windowMs: 10_000 }, clock);
    for (let i = 0; i < 100; i++) budget.request();
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (budget.tryRetry()) allowed++;
    expect(allowed).toBe(20);
  });

  it('a quiet target still gets the minimum', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetries: 3, windowMs: 10_000 }, clock);
    budget.request();
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('refills as the window moves on', () => {
    const budget = new RetryBudget({ ratio: 0.5, minRetries: 0, windowMs: 1_000 }, clock);
    for (let i = 0; i < 10; i++) budget.request();
    let allowed = 0;
    while (budget.tryRetry()) allowed++;
    expect(allowed).toBe(5);
    now += 2_000;
    expect(budget.tryRetry()).toBe(false); // nothing seen in the new window, floor 0
    for (let i = 0; i < 4; i++) budget.request();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });
});

describe('back-off', () => {
  const policy: RetryPolicy = {
    attempts: 5,
    backoffMs: 100,
    maxBackoffMs: 1_000,
    retryAfterCapMs: 2_000,
    budget: { ratio: 0.2, minRetries: 3, windowMs: 10_000 },
  };

  it('is exponential with full jitter, capped', () => {
    expect(retryDelayMs(policy, 1, undefined, () => 0.999)).toBe(99);
    expect(retryDelayMs(policy, 2, undefined, () => 0.999)).toBe(199);
    expect(retryDelayMs(policy, 3, undefined, () => 0.5)).toBe(200);
    expect(retryDelayMs(policy, 10, undefined, () => 0.999)).toBe(999);
    expect(retryDelayMs(policy, 1, undefined, () => 0)).toBe(0);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(policy, 4, undefined)));
    expect(spread.size).toBeGreaterThan(20);
  });

  it('honours Retry-After up to the cap', () => {
    expect(retryDelayMs(policy, 1, 1_500)).toBe(1_500);
    expect(retryDelayMs(policy, 1, 7_000)).toBe(2_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter('0.5')).toBe(500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:04 GMT', now)).toBe(4_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
