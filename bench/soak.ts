/**
 * Memory soak (`npm run soak`): the embedded gateway (the default a user runs: embedded PGlite, access
 * log on) under a steady mixed load for SOAK_MINUTES, mostly streaming chat on a 50 ms mock with
 * some plain requests and some clients that leave mid-stream. Every SOAK_SAMPLE_S it samples the
 * gateway's resident memory, its heap after a full GC (the gateway runs with --expose-gc here) and
 * its open file descriptors. After SOAK_WARMUP_MINUTES it fits a line to each series and prints the
 * growth per 10 minutes; the goal is under 1 MB per 10 minutes for heap and RSS, and descriptors back
 * to their idle baseline once the load stops. Not part of CI (30 minutes by default); bounded in time,
 * loopback only, and it stops every process it started.
 */
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { GATEWAY_NODE_FLAGS } from 'src/runtime-flags';
import { childOf, gatewayYaml, killChildrenNow, startChild, stopChildren } from './children';
import { chatRequestBody, envNumber, isMemorySample, MemorySample, SampleRequest } from './common';

const MB = 1024 * 1024;
const minutes = envNumber('SOAK_MINUTES', 30, 1, 240);
const warmupMinutes = envNumber('SOAK_WARMUP_MINUTES', Math.min(5, minutes / 3), 0, 60);
const sampleS = envNumber('SOAK_SAMPLE_S', 30, 1, 600);
const concurrency = envNumber('SOAK_CONCURRENCY', 16, 1, 256);
const GOAL_MB_PER_10_MIN = 1;

interface Point {
  atS: number;
  sample: MemorySample;
}

/** Least-squares slope of y over x (units of y per unit of x). */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

function sampleGateway(): Promise<MemorySample> {
  const child = childOf('gateway');
  if (!child?.connected) return Promise.reject(new Error('the gateway is gone'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no memory sample within 30 s')), 30_000);
    const onMessage = (message: unknown): void => {
      if (!isMemorySample(message)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    const request: SampleRequest = { type: 'sample' };
    child.send(request);
  });
}

interface Tally {
  streams: number;
  plain: number;
  abandoned: number;
  failed: number;
  lastError?: string;
}

/** One closed-loop client: 8 of 10 requests stream to the end, 1 is plain, 1 leaves after the first chunk. */
async function client(
  pool: Pool,
  apiKey: string,
  until: number,
  tally: Tally,
  offset: number,
): Promise<void> {
  for (let i = offset; Date.now() < until; i++) {
    const kind = i % 10 === 0 ? 'plain' : i % 10 === 5 ? 'abandon' : 'stream';
    const controller = new AbortController();
    try {
      const response = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: chatRequestBody('bench-50ms', kind !== 'plain'),
        signal: controller.signal,
      });
      if (response.statusCode !== 200) {
        tally.failed++;
        tally.lastError = `HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 200)}`;
        continue;
      }
      if (kind === 'abandon') {
        for await (const chunk of response.body) {
          if (chunk) break;
        }
        controller.abort();
        tally.abandoned++;
      } else {
        await response.body.text();
        if (kind === 'plain') tally.plain++;
        else tally.streams++;
      }
    } catch (error) {
      if (kind === 'abandon' && controller.signal.aborted) {
        tally.abandoned++;
        continue;
      }
      tally.failed++;
      tally.lastError = (error as Error).message;
    }
  }
}

const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');

async function main(): Promise<boolean> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-soak-'));
  const apiKey = `gh_soak_${randomBytes(24).toString('hex')}`;
  try {
    const [mock0, mock50] = await startChild('mock-upstream', 'mock-upstream.js', { MOCK_DELAYS: '0,50' });
    const configPath = path.join(workDir, 'gateway.yaml');
    await writeFile(configPath, gatewayYaml(mock0, mock50));
    const [port] = await startChild(
      'gateway',
      'gateway-server.js',
      {
        GATEWAY_CONFIG: configPath,
        GATEWAY_CONFIG_WATCH: 'false',
        GATEHOUSE_ADMIN_API_KEY: apiKey,
        DATA_DIR: path.join(workDir, 'data'),
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
      },
      [...GATEWAY_NODE_FLAGS, '--expose-gc'],
      120_000,
      openSync(path.join(workDir, 'gateway.log'), 'w'),
    );
    const idle = await sampleGateway();
    process.stdout.write(
      `soak: ${minutes} min (${fmt(warmupMinutes)} min warm-up), ${concurrency} clients, sample every ${sampleS} s; ` +
        `idle: RSS ${fmt(idle.rss / MB)} MB, heap ${fmt(idle.heapUsed / MB)} MB, ${idle.fds} fds\n`,
    );

    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency });
    const started = Date.now();
    const until = started + minutes * 60_000;
    const tally: Tally = { streams: 0, plain: 0, abandoned: 0, failed: 0 };
    const load = Promise.all(
      Array.from({ length: concurrency }, (_, c) => client(pool, apiKey, until, tally, c)),
    );
    const points: Point[] = [];
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(sampleS * 1000, until - Date.now())));
      const sample = await sampleGateway();
      const atS = (Date.now() - started) / 1000;
      points.push({ atS, sample });
      process.stdout.write(
        `  ${fmt(atS / 60)} min: RSS ${fmt(sample.rss / MB)} MB, heap ${fmt(sample.heapUsed / MB)} MB, ` +
          `${sample.fds} fds; ${tally.streams} streams, ${tally.plain} plain, ${tally.abandoned} left early, ` +
          `${tally.failed} failed\n`,
      );
    }
    await load;
    await pool.close();
    // Idle again: the clients' keep-alive sockets are closed. The gateway keeps its pooled upstream
    // connections (keep-alive, reused by the next request), so the baseline is the first sample after the
    // warm-up, when the pools are full: descriptors must be back to it (or below) within 30 s, i.e. the
    // run leaked none.
    const baseline = points.find((p) => p.atS >= warmupMinutes * 60)?.sample.fds ?? idle.fds;
    const stoppedAt = Date.now();
    let after = await sampleGateway();
    while (after.fds > baseline && Date.now() - stoppedAt < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      after = await sampleGateway();
    }
    const settleS = (Date.now() - stoppedAt) / 1000;

    const measured = points.filter((p) => p.atS >= warmupMinutes * 60);
    const per10 = (pick: (s: MemorySample) => number): number =>
      slope(measured.map((p) => ({ x: p.atS / 600, y: pick(p.sample) / MB })));
    const heap = per10((s) => s.heapUsed);
    const rss = per10((s) => s.rss);
    const fdsBack = after.fds <= baseline;
    const requests = tally.streams + tally.plain + tally.abandoned;
    const checks = [
      {
        goal: `heap growth after warm-up < ${GOAL_MB_PER_10_MIN} MB / 10 min`,
        value: `${fmt(heap, 2)} MB`,
        pass: heap < GOAL_MB_PER_10_MIN,
      },
      {
        goal: `RSS growth after warm-up < ${GOAL_MB_PER_10_MIN} MB / 10 min`,
        value: `${fmt(rss, 2)} MB`,
        pass: rss < GOAL_MB_PER_10_MIN,
      },
      {
        goal: 'file descriptors back to their level after the warm-up (no leak)',
        value: `${after.fds} (after the warm-up ${baseline}; idle before any request ${idle.fds}), ${fmt(settleS)} s after the load`,
        pass: fdsBack,
      },
      {
        goal: 'no failed request',
        value: `${tally.failed} of ${requests + tally.failed}${tally.lastError ? ` (${tally.lastError})` : ''}`,
        pass: tally.failed === 0,
      },
    ];
    process.stdout.write(
      `\nsoak: ${requests} requests (${tally.streams} streams, ${tally.plain} plain, ${tally.abandoned} left early) ` +
        `in ${fmt((Date.now() - started) / 60_000)} min; RSS ${fmt(idle.rss / MB)} → ${fmt(after.rss / MB)} MB, ` +
        `heap ${fmt(idle.heapUsed / MB)} → ${fmt(after.heapUsed / MB)} MB\n`,
    );
    for (const check of checks)
      process.stdout.write(`${check.pass ? 'PASS' : 'FAIL'}  ${check.goal}: ${check.value}\n`);
    if (!measured.length || measured.length < 3) {
      process.stdout.write('FAIL  too few samples after the warm-up to fit a trend (raise SOAK_MINUTES)\n');
      return false;
    }
    return checks.every((c) => c.pass);
  } finally {
    await stopChildren(5_000);
    await rm(workDir, { recursive: true, force: true });
  }
}

// A hard ceiling: the soak never outlives its planned length by more than 5 minutes.
const deadline = setTimeout(
  () => {
    process.stderr.write('soak: time limit reached, stopping\n');
    killChildrenNow();
    process.exit(1);
  },
  (minutes + 5) * 60_000,
);
deadline.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killChildrenNow();
    process.exit(130);
  });
}
process.once('exit', killChildrenNow);

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    process.stderr.write(
      `soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
