import cluster, { Worker } from 'node:cluster';
import pino, { Logger } from 'pino';
import { AppConfig } from 'src/config/env.config';
import { serveClusterMetrics } from 'src/infra/cluster/cluster-metrics';

/** A worker that exits sooner than this after its start counts as a crash-loop exit. */
const QUICK_EXIT_MS = 10_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** Quick exits in a row from which the primary logs a crash loop (as an error, once per exit). */
const CRASH_LOOP_AFTER = 3;
/** Beyond the workers' own drain and ledger timeouts: the primary SIGKILLs what is still running. */
const STOP_MARGIN_MS = 15_000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  startedAt: number;
  quickExits: number;
  restart: NodeJS.Timeout | undefined;
}

/**
 * The primary of GATEHOUSE_WORKERS > 1: forks the workers (each a whole gateway; node:cluster shares the
 * port), restarts one that exits unasked — at once after a long life, with a doubling back-off when it
 * keeps dying at start-up (logged as a crash loop) —, sums the workers' /metrics, replaces every worker
 * one at a time on SIGHUP (a rolling restart), and on SIGTERM/SIGINT lets every worker drain and exits
 * 0 when they all did. It opens no database and serves no request.
 */
export function runPrimary(config: AppConfig, count: number): void {
  const log = primaryLog(config);
  const slots: Slot[] = [];
  const retiring = new Set<Worker>();
  const listening = new Set<Worker>();
  let stopping = false;
  let rolling: Promise<void> | undefined;

  serveClusterMetrics();

  const fork = (slot: Slot): Worker => {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.once('listening', (address) => {
      listening.add(worker);
      log.info({ worker: slot.index, workerPid: worker.process.pid }, `worker ${slot.index} listening`);
      if (slots.every((s) => s.worker && listening.has(s.worker))) {
        log.info(`all ${count} workers listening on port ${address.port}`);
      }
    });
    worker.once('exit', (code, signal) => onExit(slot, worker, code, signal));
    return worker;
  };

  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    listening.delete(worker);
    if (retiring.delete(worker) || stopping) return;
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const lived = Date.now() - slot.startedAt;
    slot.quickExits = lived < QUICK_EXIT_MS ? slot.quickExits + 1 : 0;
    const delay = restartDelay(slot.quickExits);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (slot.quickExits >= CRASH_LOOP_AFTER) {
      log.error(
        { worker: slot.index, quickExits: slot.quickExits, delayMs: delay },
        `worker ${slot.index} is crash-looping (${slot.quickExits} exits within ${QUICK_EXIT_MS} ms of its start, last ${how}): next start in ${delay} ms`,
      );
    } else {
      log.warn(
        { worker: slot.index, delayMs: delay },
        `worker ${slot.index} exited (${how}) after ${lived} ms: restarting in ${delay} ms`,
      );
    }
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (!stopping) fork(slot);
    }, delay);
  };

  /** Replaces each worker in turn: the new one listens before the old one drains. */
  const rollingRestart = async (): Promise<void> => {
    log.info('SIGHUP: rolling restart of every worker');
    for (const slot of slots) {
      if (stopping) return;
      const old = slot.worker;
      const fresh = fork(slot);
      const up = await new Promise<boolean>((resolve) => {
        fresh.once('listening', () => resolve(true));
        fresh.once('exit', () => resolve(false));
      });
      if (!up) {
        log.error(`worker ${slot.index}: the replacement did not start; rolling restart stopped`);
        return;
      }
      if (old && !old.isDead()) {
        retiring.add(old);
        const gone = new Promise((resolve) => old.once('exit', resolve));
        old.process.kill('SIGTERM');
        await gone;
      }
    }
    log.info('rolling restart done');
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping ${count} workers (each drains)`);
    for (const slot of slots) if (slot.restart) clearTimeout(slot.restart);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    const codes: number[] = [];
    const force = setTimeout(
      () => {
        log.error('workers did not stop in time: killing them');
        for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
      },
      config.SHUTDOWN_READY_DELAY_MS +
        config.SHUTDOWN_DRAIN_MS +
        config.LEDGER_SHUTDOWN_TIMEOUT_MS +
        STOP_MARGIN_MS,
    );
    force.unref();
    void Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', (code) => {
              codes.push(code ?? 1);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    ).then(() => {
      const code = codes.every((c) => c === 0) ? 0 : 1;
      log.info(`all workers stopped (exit ${code})`);
      log.flush();
      process.exit(code);
    });
  };

  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (stopping || rolling) return;
    rolling = rollingRestart().finally(() => (rolling = undefined));
  });

  log.info(`primary: starting ${count} workers`);
  if (!config.REDIS_URL) {
    log.warn(
      `no REDIS_URL: rate limits, quotas, budgets and the response cache are kept per worker, so a limit admits up to ${count}× its value`,
    );
  }
  for (let index = 1; index <= count; index++) {
    const slot: Slot = { index, worker: undefined, startedAt: 0, quickExits: 0, restart: undefined };
    slots.push(slot);
    fork(slot);
  }
}

/**
 * Back-off before restarting a worker after `quickExits` exits in a row that each came within
 * QUICK_EXIT_MS of its start: none after a worker that lived (0), then 0.5 s, 1 s, 2 s … up to 30 s.
 */
export function restartDelay(quickExits: number): number {
  return quickExits === 0 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (quickExits - 1));
}

/** The primary's JSON log lines, in the workers' shape (pino, ISO time, level names). */
function primaryLog(config: AppConfig): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: config.OTEL_SERVICE_NAME, pid: process.pid, role: 'primary' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
