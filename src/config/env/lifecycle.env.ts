import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Worker processes and graceful shutdown (src/infra/cluster, src/infra/lifecycle). */
export const lifecycleEnv = {
  /**
   * Worker processes serving the one port (node:cluster). Default: 1 on the embedded database, the
   * number of CPUs with DATABASE_URL. More than one needs DATABASE_URL (the embedded database has a
   * single owner).
   */
  GATEHOUSE_WORKERS: int(1, 256).optional(),
  /**
   * On SIGTERM: how long open streams may keep going before they are ended with their format's terminal
   * error event (requests still unanswered then are cut as well).
   */
  SHUTDOWN_DRAIN_MS: int(0, 3_600_000).default(30_000),
  /**
   * On SIGTERM: how long the listener keeps accepting (answering with `Connection: close`) after readiness
   * turned 503, so a load balancer that polls readiness stops sending first. 0 behind Kubernetes with a
   * preStop hook.
   */
  SHUTDOWN_READY_DELAY_MS: int(0, 600_000).default(0),
};

interface WorkerSettings {
  GATEHOUSE_WORKERS?: number;
  DATABASE_URL?: string;
}

/**
 * How many worker processes serve the port (1: the process serves it itself, no primary). The default
 * with DATABASE_URL is the CPUs this process may use: the cores it may run on, capped by a container's
 * CPU limit (a pod limited to 2 CPUs on a 64-core node gets 2 workers, not 64).
 */
export function workerCount(
  config: WorkerSettings,
  quota: () => number | undefined = cgroupCpuLimit,
): number {
  if (config.GATEHOUSE_WORKERS !== undefined) return config.GATEHOUSE_WORKERS;
  if (!config.DATABASE_URL) return 1;
  const limit = quota();
  return Math.max(1, Math.min(availableParallelism(), limit === undefined ? Infinity : Math.ceil(limit)));
}

/** The CPU limit of this container in CPUs (cgroup v2 `cpu.max`, else v1 CFS quota), if any. */
export function cgroupCpuLimit(
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): number | undefined {
  const ratio = (quota: number, period: number) =>
    Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : undefined;
  try {
    const [quota, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    return quota === 'max' ? undefined : ratio(Number(quota), Number(period));
  } catch {
    // not cgroup v2
  }
  try {
    const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim());
    const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim());
    return ratio(quota, period);
  } catch {
    return undefined;
  }
}

/** The embedded PGlite database lives in one process's memory: it cannot be shared by workers. */
export function workerProblem(config: WorkerSettings): string | undefined {
  return (config.GATEHOUSE_WORKERS ?? 1) > 1 && !config.DATABASE_URL
    ? 'more than one worker needs DATABASE_URL: the embedded database (PGlite, DATA_DIR) can have only one owner process'
    : undefined;
}
