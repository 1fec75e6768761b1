import { z } from 'zod';
import { Verdict } from 'src/modules/rollouts/rollout-judge';
import { Rollout, RolloutEvent, RolloutState } from 'src/modules/rollouts/rollout.repository';

const Name = z.string().regex(/^[A-Za-z0-9_\-.]{1,256}$/, 'letters, digits, - _ . only (at most 256)');
const Hold = z.number().int().min(1).max(86_400);

export const CreateRolloutSchema = z
  .strictObject({
    route: Name,
    baseline: Name,
    canary: Name,
    steps: z.array(z.number().int().min(1).max(100)).min(1).max(20).default([5, 25, 50, 100]),
    hold_seconds: z.union([Hold, z.array(Hold).min(1).max(20)]).default(300),
    max_error_rate_delta: z.number().min(0).max(1).default(0.05),
    max_p95_latency_ratio: z.number().min(1).max(1000).default(1.5),
    p95_latency_slack_ms: z.number().min(0).max(600_000).default(10),
    min_requests: z.number().int().min(1).max(1_000_000).default(20),
  })
  .refine((b) => b.steps.every((s, i) => i === 0 || s > b.steps[i - 1]), {
    message: 'must be strictly increasing',
    path: ['steps'],
  })
  .refine((b) => b.steps[b.steps.length - 1] === 100, { message: 'must end at 100', path: ['steps'] })
  .refine((b) => !Array.isArray(b.hold_seconds) || b.hold_seconds.length === b.steps.length, {
    message: 'must be one number, or one per step',
    path: ['hold_seconds'],
  })
  .refine((b) => b.baseline !== b.canary, { message: 'must differ from baseline', path: ['canary'] });

export type CreateRolloutInput = z.infer<typeof CreateRolloutSchema>;

export interface RolloutDto {
  id: string;
  route: string;
  baseline: string;
  canary: string;
  state: RolloutState;
  /** 1-based step number. */
  step: number;
  steps: number[];
  canary_percentage: number;
  hold_seconds: number[];
  limits: {
    max_error_rate_delta: number;
    max_p95_latency_ratio: number;
    p95_latency_slack_ms: number;
    min_requests: number;
  };
  step_started_at: string;
  reason: string | null;
  last_evaluation: (Verdict & { at: string }) | null;
  history: RolloutEvent[];
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** The canary's share of traffic in a state. */
export function canaryPercentage(r: Pick<Rollout, 'state' | 'stepIndex' | 'plan'>): number {
  if (r.state === 'completed') return 100;
  if (r.state === 'rolled_back' || r.state === 'aborted') return 0;
  return r.plan.steps[r.stepIndex];
}

export function toRolloutDto(r: Rollout): RolloutDto {
  return {
    id: r.id,
    route: r.route,
    baseline: r.baseline,
    canary: r.canary,
    state: r.state,
    step: r.stepIndex + 1,
    steps: r.plan.steps,
    canary_percentage: canaryPercentage(r),
    hold_seconds: r.plan.holdSeconds,
    limits: {
      max_error_rate_delta: r.plan.maxErrorRateDelta,
      max_p95_latency_ratio: r.plan.maxP95LatencyRatio,
      p95_latency_slack_ms: r.plan.p95LatencySlackMs,
      min_requests: r.plan.minRequests,
    },
    step_started_at: r.stepStartedAt.toISOString(),
    reason: r.reason,
    last_evaluation: r.lastEvaluation,
    history: r.history,
    created_by: r.createdBy,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

const ARM = {
  type: 'object',
  properties: {
    requests: { type: 'integer' },
    errors: { type: 'integer' },
    error_rate: { type: 'number' },
    p95_ms: { type: 'number', nullable: true },
  },
};

export const ROLLOUT_VIEW = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    route: { type: 'string' },
    baseline: { type: 'string' },
    canary: { type: 'string' },
    state: { type: 'string', enum: ['running', 'paused', 'completed', 'rolled_back', 'aborted'] },
    step: { type: 'integer' },
    steps: { type: 'array', items: { type: 'integer' } },
    canary_percentage: { type: 'integer' },
    hold_seconds: { type: 'array', items: { type: 'integer' } },
    limits: {
      type: 'object',
      properties: {
        max_error_rate_delta: { type: 'number' },
        max_p95_latency_ratio: { type: 'number' },
        p95_latency_slack_ms: { type: 'number' },
        min_requests: { type: 'integer' },
      },
    },
    step_started_at: { type: 'string', format: 'date-time' },
    reason: { type: 'string', nullable: true },
    last_evaluation: {
      type: 'object',
      nullable: true,
      properties: {
        decision: { type: 'string', enum: ['wait', 'advance', 'complete', 'rollback'] },
        reason: { type: 'string' },
        at: { type: 'string', format: 'date-time' },
        baseline: ARM,
        canary: ARM,
      },
    },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          at: { type: 'string', format: 'date-time' },
          event: { type: 'string' },
          step: { type: 'integer' },
          canary_percentage: { type: 'integer' },
          route_revision: { type: 'integer', nullable: true },
          actor: { type: 'string', nullable: true },
          detail: { type: 'string', nullable: true },
        },
      },
    },
    created_by: { type: 'string', nullable: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
};
