import { bucketOf, emptyHistogram, quantile } from 'src/modules/rollouts/latency-histogram';
import { ArmStats, judge, RolloutPlan } from 'src/modules/rollouts/rollout-judge';

const plan: RolloutPlan = {
  steps: [5, 25, 100],
  holdSeconds: [10, 10, 10],
  maxErrorRateDelta: 0.05,
  maxP95LatencyRatio: 1.5,
  p95LatencySlackMs: 10,
  minRequests: 20,
};

function arm(requests: number, errors: number, latencyMs: number): ArmStats {
  const histogram = emptyHistogram();
  histogram[bucketOf(latencyMs)] += requests;
  return { requests, errors, histogram };
}

describe('latency histogram', () => {
  it('estimates quantiles from above within one bucket (25%)', () => {
    const h = emptyHistogram();
    for (let ms = 1; ms <= 100; ms++) h[bucketOf(ms)]++;
    const p95 = quantile(h, 0.95)!;
    expect(p95).toBeGreaterThanOrEqual(95);
    expect(p95).toBeLessThanOrEqual(95 * 1.25);
    expect(quantile(emptyHistogram(), 0.95)).toBeUndefined();
  });
});

describe('rollout judge', () => {
  const base = arm(1000, 10, 100);

  it('waits for the hold time, then advances a healthy canary, and completes after the last step', () => {
    expect(
      judge({ plan, stepIndex: 0, heldMs: 5_000, canary: arm(50, 0, 100), baseline: base }).decision,
    ).toBe('wait');
    expect(
      judge({ plan, stepIndex: 0, heldMs: 10_000, canary: arm(50, 1, 110), baseline: base }).decision,
    ).toBe('advance');
    expect(
      judge({ plan, stepIndex: 2, heldMs: 10_000, canary: arm(50, 0, 100), baseline: base }).decision,
    ).toBe('complete');
  });

  it('does not advance without the minimum canary traffic', () => {
    const verdict = judge({ plan, stepIndex: 0, heldMs: 60_000, canary: arm(19, 0, 100), baseline: base });
    expect(verdict.decision).toBe('wait');
    expect(verdict.reason).toContain('19 so far');
  });

  it('rolls back on an error-rate delta above the limit, even before the hold ends', () => {
    // baseline 1%, canary 10%: delta 9% > 5%
    const verdict = judge({ plan, stepIndex: 1, heldMs: 1_000, canary: arm(100, 10, 100), baseline: base });
    expect(verdict.decision).toBe('rollback');
    expect(verdict.canary.error_rate).toBeCloseTo(0.1);
    expect(verdict.reason).toContain('10.0%');
    // 5% vs 1%: within the limit
    expect(
      judge({ plan, stepIndex: 1, heldMs: 1_000, canary: arm(100, 5, 100), baseline: base }).decision,
    ).toBe('wait');
  });

  it('rolls back early when errors alone prove the breach before the minimum traffic', () => {
    expect(judge({ plan, stepIndex: 0, heldMs: 0, canary: arm(5, 5, 100), baseline: base }).decision).toBe(
      'rollback',
    );
    expect(judge({ plan, stepIndex: 0, heldMs: 0, canary: arm(5, 1, 100), baseline: base }).decision).toBe(
      'wait',
    );
  });

  it('rolls back when the canary p95 exceeds ratio × baseline p95 + slack', () => {
    const slow = judge({ plan, stepIndex: 0, heldMs: 0, canary: arm(50, 0, 300), baseline: base });
    expect(slow.decision).toBe('rollback');
    expect(slow.reason).toContain('p95');
    // 2 ms vs 4 ms is within the 10 ms slack.
    expect(
      judge({ plan, stepIndex: 0, heldMs: 0, canary: arm(50, 0, 4), baseline: arm(1000, 0, 2) }).decision,
    ).toBe('wait');
  });
});
