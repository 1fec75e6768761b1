/**
 * Start-up benchmark (`npm run bench:startup`): runs `dist/src/main.js` as `npm start` does (the
 * runtime flags, the repository's gateway.yaml, the embedded database) and measures, STARTUP_RUNS times
 * each, a start on an empty data directory (cold) and a second start on the same one (warm):
 *
 * - the first answer: time from spawning the process to the first answer of `GET /health`;
 * - resident memory (VmRSS) at the first answer and STARTUP_SETTLE_S seconds later, when the start-up
 *   work (WebAssembly compilation, the registry's first sync, deferred timers) has settled.
 *
 * Goals (issue "Scale out", item 5): first answer ≤ 5 s cold and ≤ 3 s warm, resident memory after
 * start ≤ 300 MB. The exit code is 1 when a goal is missed. Loopback only; it stops what it starts.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { GATEWAY_NODE_FLAGS } from 'src/runtime-flags';
import { envNumber } from './common';

const MB = 1024 * 1024;
const runs = envNumber('STARTUP_RUNS', 3, 1, 20);
const settleS = envNumber('STARTUP_SETTLE_S', 10, 0, 120);
const GOALS = { coldMs: 5_000, warmMs: 3_000, rssMb: 300 };
const root = path.join(__dirname, '..', '..');
/** Node flags: the gateway's (runtime-flags.ts) unless STARTUP_NODE_FLAGS replaces them, plus STARTUP_EXEC_ARGV. */
const nodeFlags = [
  ...(process.env.STARTUP_NODE_FLAGS?.split(/\s+/) ?? GATEWAY_NODE_FLAGS),
  ...(process.env.STARTUP_EXEC_ARGV ?? '').split(/\s+/),
].filter((flag) => flag !== '');

interface StartSample {
  kind: 'cold' | 'warm';
  firstAnswerMs: number;
  rssAtFirstMb: number;
  rssSettledMb: number;
  /** Anonymous (private) memory after settling, MB: the part that is the process's own. */
  anonymousMb: number;
}

async function memoryOf(pid: number): Promise<{ rss: number; anonymous: number }> {
  const field = (text: string, name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  const [status, rollup] = await Promise.all([
    readFile(`/proc/${pid}/status`, 'utf8'),
    readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => ''),
  ]);
  return { rss: field(status, 'VmRSS'), anonymous: field(rollup, 'Anonymous') };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startOnce(dataDir: string, kind: StartSample['kind']): Promise<StartSample> {
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, path.join(root, 'dist/src/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      GATEWAY_CONFIG: path.join(root, 'gateway.yaml'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let port: number | undefined;
  const onOutput = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
    port ??= Number(/listening on http:\/\/[^\s:]+:(\d+)/.exec(output)?.[1]) || undefined;
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  try {
    const deadline = started + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the gateway exited (code ${child.exitCode}):\n${output}`);
      if (performance.now() > deadline) throw new Error(`no answer within 120 s:\n${output}`);
      if (port !== undefined) {
        const answered = await fetch(`http://127.0.0.1:${port}/health`).then(
          async (response) => {
            await response.arrayBuffer();
            return response.ok;
          },
          () => false,
        );
        if (answered) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const firstAnswerMs = performance.now() - started;
    const pid = child.pid as number;
    const atFirst = await memoryOf(pid);
    await new Promise((resolve) => setTimeout(resolve, settleS * 1000));
    const settled = await memoryOf(pid);
    return {
      kind,
      firstAnswerMs,
      rssAtFirstMb: atFirst.rss / MB,
      rssSettledMb: settled.rss / MB,
      anonymousMb: settled.anonymous / MB,
    };
  } finally {
    await stop(child);
  }
}

function row(cells: (string | number)[]): string {
  return cells.map((cell, i) => String(cell).padStart(i === 0 ? 6 : 14)).join(' ');
}

async function main(): Promise<void> {
  const busy = loadavg()[0];
  process.stdout.write(
    `Gatehouse start-up — node ${process.version} ${nodeFlags.join(' ')}, ${cpus().length} CPU(s), ` +
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${runs} cold + ${runs} warm starts, memory ${settleS} s after the first answer\n`,
  );
  if (busy > cpus().length / 2) {
    process.stdout.write(
      `WARNING: the machine is busy (1-min load ${busy.toFixed(2)}): start times are slower.\n`,
    );
  }
  const samples: StartSample[] = [];
  for (let run = 0; run < runs; run++) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-startup-'));
    try {
      samples.push(await startOnce(dataDir, 'cold'));
      samples.push(await startOnce(dataDir, 'warm'));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${row(['start', 'first answer', 'RSS at first', 'RSS settled', 'anonymous'])}\n`);
  for (const s of samples) {
    const cells = [s.firstAnswerMs, s.rssAtFirstMb, s.rssSettledMb, s.anonymousMb].map((v) => v.toFixed(0));
    process.stdout.write(
      `${row([s.kind, `${cells[0]} ms`, `${cells[1]} MB`, `${cells[2]} MB`, `${cells[3]} MB`])}\n`,
    );
  }
  const worst = (kind: StartSample['kind'], key: 'firstAnswerMs' | 'rssSettledMb'): number =>
    Math.max(...samples.filter((s) => s.kind === kind).map((s) => s[key]));
  const checks = [
    {
      goal: `cold first answer ≤ ${GOALS.coldMs} ms`,
      worst: worst('cold', 'firstAnswerMs'),
      limit: GOALS.coldMs,
    },
    {
      goal: `warm first answer ≤ ${GOALS.warmMs} ms`,
      worst: worst('warm', 'firstAnswerMs'),
      limit: GOALS.warmMs,
    },
    {
      goal: `RSS after start (cold) ≤ ${GOALS.rssMb} MB`,
      worst: worst('cold', 'rssSettledMb'),
      limit: GOALS.rssMb,
    },
    {
      goal: `RSS after start (warm) ≤ ${GOALS.rssMb} MB`,
      worst: worst('warm', 'rssSettledMb'),
      limit: GOALS.rssMb,
    },
  ];
  let failed = false;
  for (const check of checks) {
    const ok = check.worst <= check.limit;
    failed ||= !ok;
    process.stdout.write(`${ok ? 'ok  ' : 'MISS'} ${check.goal}: worst ${check.worst.toFixed(0)}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`startup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
