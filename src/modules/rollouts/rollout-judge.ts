import { quantile } from 'src/modules/rollouts/latency-histogram';

export interface RolloutPlan {
  /** Canary percentages, strictly increasing, ending at 100. */
  steps: number[];
  /** Seconds to hold each step (one per step). */
  holdSeconds: number[];
  /** Largest allowed canary error rate minus baseline error rate (0–1). */
  maxErrorRateDelta: number;
  /** Largest allowed canary p95 / baseline p95. */
  maxP95LatencyRatio: number;
  /** Absolute slack added to the latency limit, so a 2 ms vs 4 ms p95 is not a regression. */
  p95LatencySlackMs: number;
  /** Canary requests a step needs before it may be judged healthy (and the baseline before latency is compared). */
  minRequests: number;
}

export interface ArmStats {
  requests: number;
  errors: number;
  histogram: number[];
}

export interface ArmSummary {
  requests: number;
  errors: number;
  error_rate: number;
  p95_ms: number | null;
}

export type Decision = 'wait' | 'advance' | 'complete' | 'rollback';

export interface Verdict {
  decision: Decision;
  reason: string;
  baseline: ArmSummary;
  canary: ArmSummary;
}

export interface JudgeInput {
  plan: RolloutPlan;
  stepIndex: number;
  /** ms since the step started. */
  heldMs: number;
  /** The canary in the current step (its traffic at this weight). */
  canary: ArmStats;
  /** The baseline over the whole rollout (a steady reference, also at 100% canary). */
  baseline: ArmStats;
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

function summary(stats: ArmStats): ArmSummary {
  return {
    requests: stats.requests,
    errors: stats.errors,
    error_rate: stats.requests === 0 ? 0 : stats.errors / stats.requests,
    p95_ms: quantile(stats.histogram, 0.95) ?? null,
  };
}

/**
 * One judgement of a running rollout step, Argo-Rollouts style: roll back as soon as the canary is
 * measurably worse than the baseline (error-rate delta, p95 ratio), advance only after the hold time
 * with enough canary traffic, complete after the last (100%) step held.
 */
export function judge(input: JudgeInput): Verdict {
  const { plan } = input;
  const baseline = summary(input.baseline);
  const canary = summary(input.canary);
  const verdict = (decision: Decision, reason: string): Verdict => ({ decision, reason, baseline, canary });
  // Errors alone can prove a breach before minRequests: the rate can only be at least this high.
  const errorFloor = input.canary.errors / Math.max(input.canary.requests, plan.minRequests);
  const enough = input.canary.requests >= plan.minRequests;
  const errorRate = enough ? canary.error_rate : errorFloor;
  if (errorRate - baseline.error_rate > plan.maxErrorRateDelta) {
    return verdict(
      'rollback',
      `canary error rate ${pct(errorRate)} exceeds baseline ${pct(baseline.error_rate)} by more than ${pct(plan.maxErrorRateDelta)} (${input.canary.errors} errors in ${input.canary.requests} requests)`,
    );
  }
  if (
    enough &&
    input.baseline.requests >= plan.minRequests &&
    canary.p95_ms !== null &&
    baseline.p95_ms !== null
  ) {
    const limit = plan.maxP95LatencyRatio * baseline.p95_ms + plan.p95LatencySlackMs;
    if (canary.p95_ms > limit) {
      return verdict(
        'rollback',
        `canary p95 ${canary.p95_ms} ms exceeds ${plan.maxP95LatencyRatio}× baseline p95 ${baseline.p95_ms} ms + ${plan.p95LatencySlackMs} ms`,
      );
    }
  }
  const holdMs = plan.holdSeconds[input.stepIndex] * 1000;
  if (input.heldMs < holdMs) return verdict('wait', `holding step ${input.stepIndex + 1}`);
  if (!enough) {
    return verdict(
      'wait',
      `waiting for ${plan.minRequests} canary requests (${input.canary.requests} so far)`,
    );
  }
  const last = input.stepIndex === plan.steps.length - 1;
  return last
    ? verdict('complete', `canary healthy at 100% for ${plan.holdSeconds[input.stepIndex]} s`)
    : verdict(
        'advance',
        `canary healthy at ${plan.steps[input.stepIndex]}% for ${plan.holdSeconds[input.stepIndex]} s`,
      );
}
