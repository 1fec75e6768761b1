import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Config lifecycle and progressive rollouts (src/modules/routing/admin, src/modules/rollouts). */
export const routingEnv = {
  /** How often each replica compares its config with the database's latest revision (a missed NOTIFY). */
  ROUTING_RECONCILE_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  /** How often the rollout leader judges running rollouts. */
  ROLLOUT_TICK_MS: int(100, 600_000).default(1_000),
  /** How often each replica writes its rollout traffic statistics for the leader. */
  ROLLOUT_STATS_FLUSH_MS: int(100, 600_000).default(1_000),
};
