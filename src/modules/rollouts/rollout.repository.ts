import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { addHistogram, emptyHistogram } from 'src/modules/rollouts/latency-histogram';
import { ArmStats, RolloutPlan, Verdict } from 'src/modules/rollouts/rollout-judge';

export type RolloutState = 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
export const LIVE_STATES: readonly RolloutState[] = ['running', 'paused'];

export interface RolloutEvent {
  at: string;
  event: string;
  step: number;
  canary_percentage: number;
  /** The route revision this event created, if it moved weights. */
  route_revision: number | null;
  actor: string | null;
  detail: string | null;
}

export interface Rollout {
  id: string;
  route: string;
  baseline: string;
  canary: string;
  plan: RolloutPlan;
  state: RolloutState;
  stepIndex: number;
  stepStartedAt: Date;
  reason: string | null;
  lastEvaluation: (Verdict & { at: string }) | null;
  history: RolloutEvent[];
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface RolloutRow {
  id: string;
  route: string;
  baseline: string;
  canary: string;
  plan: RolloutPlan;
  state: RolloutState;
  step_index: number;
  step_started_at: Date;
  reason: string | null;
  last_evaluation: Rollout['lastEvaluation'];
  history: RolloutEvent[];
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** One replica's cumulative counts for one endpoint in one step of a rollout. */
export interface StatsRow {
  rolloutId: string;
  stepIndex: number;
  endpoint: string;
  stats: ArmStats;
}

/** Arbitrary constant shared by every replica: "gatehouse rollout leader". */
const LEADER_LOCK = 7_402_118_613;

const toRollout = (r: RolloutRow): Rollout => ({
  id: r.id,
  route: r.route,
  baseline: r.baseline,
  canary: r.canary,
  plan: r.plan,
  state: r.state,
  stepIndex: r.step_index,
  stepStartedAt: new Date(r.step_started_at),
  reason: r.reason,
  lastEvaluation: r.last_evaluation,
  history: r.history,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

@Injectable()
export class RolloutRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** True on the one replica that may judge rollouts right now (held until the transaction ends). */
  async tryLead(m: EntityManager): Promise<boolean> {
    const rows = await m.query<{ got: boolean }[]>('SELECT pg_try_advisory_xact_lock($1) AS got', [
      LEADER_LOCK,
    ]);
    return rows[0].got === true;
  }

  async insert(m: EntityManager, r: Omit<Rollout, 'createdAt' | 'updatedAt'>): Promise<void> {
    await m.query(
      `INSERT INTO gateway_rollouts (id, route, baseline, canary, plan, state, step_index, step_started_at, reason, last_evaluation, history, created_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)`,
      [
        r.id,
        r.route,
        r.baseline,
        r.canary,
        JSON.stringify(r.plan),
        r.state,
        r.stepIndex,
        r.stepStartedAt,
        r.reason,
        r.lastEvaluation === null ? null : JSON.stringify(r.lastEvaluation),
        JSON.stringify(r.history),
        r.createdBy,
      ],
    );
  }

  async update(
    m: EntityManager,
    id: string,
    r: Pick<Rollout, 'state' | 'stepIndex' | 'stepStartedAt' | 'reason' | 'lastEvaluation' | 'history'>,
  ): Promise<void> {
    await m.query(
      `UPDATE gateway_rollouts SET state = $2, step_index = $3, step_started_at = $4, reason = $5,
         last_evaluation = $6::jsonb, history = $7::jsonb, updated_at = now() WHERE id = $1`,
      [
        id,
        r.state,
        r.stepIndex,
        r.stepStartedAt,
        r.reason,
        r.lastEvaluation === null ? null : JSON.stringify(r.lastEvaluation),
        JSON.stringify(r.history),
      ],
    );
  }

  async get(
    id: string,
    m: EntityManager = this.dataSource.manager,
    forUpdate = false,
  ): Promise<Rollout | undefined> {
    const rows = await m.query<RolloutRow[]>(
      `SELECT * FROM gateway_rollouts WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ? toRollout(rows[0]) : undefined;
  }

  async list(limit: number): Promise<Rollout[]> {
    const rows = await this.dataSource.query<RolloutRow[]>(
      'SELECT * FROM gateway_rollouts ORDER BY created_at DESC LIMIT $1',
      [limit],
    );
    return rows.map(toRollout);
  }

  async live(m: EntityManager = this.dataSource.manager, forUpdate = false): Promise<Rollout[]> {
    const rows = await m.query<RolloutRow[]>(
      `SELECT * FROM gateway_rollouts WHERE state IN ('running', 'paused') ORDER BY created_at${forUpdate ? ' FOR UPDATE' : ''}`,
    );
    return rows.map(toRollout);
  }

  async liveOnRoute(m: EntityManager, route: string): Promise<Rollout | undefined> {
    const rows = await m.query<RolloutRow[]>(
      `SELECT * FROM gateway_rollouts WHERE route = $1 AND state IN ('running', 'paused')`,
      [route],
    );
    return rows[0] ? toRollout(rows[0]) : undefined;
  }

  /** Overwrites this replica's cumulative counts (idempotent: a retried flush writes the same numbers). */
  async saveStats(replicaId: string, rows: readonly StatsRow[]): Promise<void> {
    if (rows.length === 0) return;
    const values: unknown[] = [];
    const tuples = rows.map((row, i) => {
      values.push(
        row.rolloutId,
        row.stepIndex,
        replicaId,
        row.endpoint,
        row.stats.requests,
        row.stats.errors,
      );
      values.push(JSON.stringify(row.stats.histogram));
      const b = i * 7;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}::jsonb, now())`;
    });
    await this.dataSource.query(
      `INSERT INTO gateway_rollout_stats (rollout_id, step_index, replica_id, endpoint, requests, errors, histogram, updated_at)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (rollout_id, step_index, replica_id, endpoint) DO UPDATE SET requests = EXCLUDED.requests,
         errors = EXCLUDED.errors, histogram = EXCLUDED.histogram, updated_at = now()`,
      values,
    );
  }

  /** Every replica's counts for a rollout, summed per (step, endpoint). */
  async stats(m: EntityManager, rolloutId: string): Promise<Map<string, ArmStats>> {
    const rows = await m.query<
      { step_index: number; endpoint: string; requests: number; errors: number; histogram: number[] }[]
    >(
      'SELECT step_index, endpoint, requests, errors, histogram FROM gateway_rollout_stats WHERE rollout_id = $1',
      [rolloutId],
    );
    const sums = new Map<string, ArmStats>();
    for (const row of rows) {
      const key = `${row.step_index}\u0000${row.endpoint}`;
      const sum = sums.get(key) ?? { requests: 0, errors: 0, histogram: emptyHistogram() };
      sum.requests += row.requests;
      sum.errors += row.errors;
      addHistogram(sum.histogram, row.histogram);
      sums.set(key, sum);
    }
    return sums;
  }
}

export const statsKey = (stepIndex: number, endpoint: string) => `${stepIndex}\u0000${endpoint}`;
