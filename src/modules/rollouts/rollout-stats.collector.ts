import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import { bucketOf, emptyHistogram } from 'src/modules/rollouts/latency-histogram';
import { ArmStats } from 'src/modules/rollouts/rollout-judge';
import { Rollout, RolloutRepository, StatsRow } from 'src/modules/rollouts/rollout.repository';

interface Watched {
  id: string;
  baseline: string;
  canary: string;
  stepIndex: number;
  stepStartedAt: number;
}

/**
 * Counts, per replica and in memory, the requests of routes under a live rollout (requests, errors,
 * latency histogram per step and endpoint), and writes the cumulative counts to Postgres about once a
 * second for the leader, who sums every replica's rows. The listener is one map lookup for any other
 * request; nothing is written while no rollout is live.
 */
@Injectable()
export class RolloutStatsCollector {
  private readonly logger = new Logger('RolloutStats');
  readonly replicaId = randomUUID();
  private watched = new Map<string, Watched>();
  private readonly counts = new Map<string, StatsRow>();
  private readonly dirty = new Set<string>();

  constructor(private readonly repository: RolloutRepository) {}

  /** The rollouts this replica counts for (live ones), replaced whole. */
  watch(rollouts: readonly Rollout[]): void {
    const next = new Map<string, Watched>();
    for (const r of rollouts) {
      next.set(r.route, {
        id: r.id,
        baseline: r.baseline,
        canary: r.canary,
        stepIndex: r.stepIndex,
        stepStartedAt: r.stepStartedAt.getTime(),
      });
    }
    this.watched = next;
    const liveIds = new Set(rollouts.map((r) => r.id));
    for (const [key, row] of this.counts) {
      if (!liveIds.has(row.rolloutId) && !this.dirty.has(key)) this.counts.delete(key);
    }
  }

  get watching(): number {
    return this.watched.size;
  }

  @OnEvent(INVOCATION_FINISHED)
  onInvocation(record: InvocationRecord): void {
    if (record.route === undefined) return;
    const rollout = this.watched.get(record.route);
    if (!rollout) return;
    const endpoint = record.endpoint;
    if (endpoint !== rollout.baseline && endpoint !== rollout.canary) return;
    // Only requests that reached an upstream (or found their endpoint unable to take them), started at
    // the current weights.
    if (record.outcome === 'cancelled' || record.cacheHit) return;
    if (record.attempts === 0 && record.endpointStatus === undefined) return;
    if (record.startedAt < rollout.stepStartedAt) return;
    const key = `${rollout.id}\u0000${rollout.stepIndex}\u0000${endpoint}`;
    let row = this.counts.get(key);
    if (!row) {
      row = {
        rolloutId: rollout.id,
        stepIndex: rollout.stepIndex,
        endpoint,
        stats: { requests: 0, errors: 0, histogram: emptyHistogram() } satisfies ArmStats,
      };
      this.counts.set(key, row);
    }
    // The endpoint's own failure counts even when a fallback then answered the caller.
    const status = record.endpointStatus ?? record.status ?? 0;
    row.stats.requests++;
    if (status >= 500 || status === 429) row.stats.errors++;
    row.stats.histogram[bucketOf(record.latencyMs ?? 0)]++;
    this.dirty.add(key);
  }

  /** Writes the counts that changed since the last flush. */
  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const keys = [...this.dirty];
    this.dirty.clear();
    const rows = keys.map((k) => this.counts.get(k)).filter((r): r is StatsRow => r !== undefined);
    try {
      await this.repository.saveStats(
        this.replicaId,
        rows.map((r) => ({ ...r, stats: { ...r.stats, histogram: [...r.stats.histogram] } })),
      );
    } catch (error) {
      for (const k of keys) this.dirty.add(k);
      this.logger.warn(
        `could not write rollout stats: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
