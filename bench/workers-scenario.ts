/**
 * The `workers` scenario of `npm run bench`: the real entry point (dist/src/main.js) with
 * GATEHOUSE_WORKERS=1 and =2 on one PostgreSQL, the same 0 ms upstream and the same non-streaming load,
 * measured interleaved in rounds; prints the throughput of each and the scaling factor. PostgreSQL: a
 * scratch database on BENCH_PG_ADMIN_URL (default postgres://root@127.0.0.1:5432/postgres, as the tests), dropped after.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { GATEWAY_NODE_FLAGS } from 'src/runtime-flags';
import { LatencySummary, summarize } from './common';

export interface WorkersScenarioInput {
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
  apiKey: string;
  /** gateway.yaml with the `bench-0ms` endpoint. */
  gatewayYaml: string;
  body: string;
  workDir: string;
}

export interface WorkersResult {
  workers: number;
  requests: number;
  durationS: number;
  rps: number;
  latency: LatencySummary;
  problems: number;
}

export interface WorkersReport {
  results: WorkersResult[];
  scaling: number;
}

interface Running {
  child: ChildProcess;
  port: number;
}

/** Starts src/main.js with `workers` workers; resolves once every worker listens. */
async function startMain(workers: number, env: Record<string, string>): Promise<Running> {
  const child = spawn(
    process.execPath,
    [...GATEWAY_NODE_FLAGS, path.join(__dirname, '..', 'src', 'main.js')],
    {
      env: { ...process.env, ...env, GATEHOUSE_WORKERS: String(workers) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  let port: number | undefined;
  // The access log (one line per request) is read and dropped, so the pipe never fills up.
  child.stdout.on('data', (chunk: Buffer) => {
    if (out.length < 1_000_000) out += chunk.toString('utf8');
  });
  const deadline = Date.now() + 180_000;
  const ready = (): boolean =>
    port !== undefined && (workers === 1 || new RegExp(`all ${workers} workers listening`).test(out));
  while (!ready()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway with ${workers} worker(s) did not start:\n${out.slice(-2000)}`);
    }
    const listening = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
    if (listening) port = Number(listening[1]);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  out = '';
  return { child, port: port! };
}

async function stopMain(running: Running): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function load(
  port: number,
  input: WorkersScenarioInput,
  durationS: number,
): Promise<{ latencies: number[]; problems: number; durationS: number }> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let problems = 0;
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}/v1/chat/completions`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${input.apiKey}` },
        body: input.body,
        connections: input.connections,
        duration: durationS,
        timeout: 10,
      },
      (error: unknown, result: autocannon.Result) => {
        if (error) reject(error instanceof Error ? error : new Error('autocannon failed'));
        else
          resolve({
            latencies,
            problems: problems + result.errors + result.timeouts,
            durationS: result.duration > 0 ? result.duration : durationS,
          });
      },
    );
    instance.on('response', (_c: autocannon.Client, status: number, _b: number, time: number) => {
      if (status >= 200 && status < 300) latencies.push(time);
      else problems++;
    });
  });
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function runWorkersScenario(input: WorkersScenarioInput): Promise<WorkersReport> {
  const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/postgres';
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${name}`;
  const configPath = path.join(input.workDir, 'gateway-workers.yaml');
  await writeFile(configPath, input.gatewayYaml);
  const env = {
    DATABASE_URL: databaseUrl.toString(),
    GATEWAY_CONFIG: configPath,
    GATEWAY_CONFIG_WATCH: 'false',
    GATEHOUSE_ADMIN_API_KEY: input.apiKey,
    DATA_DIR: path.join(input.workDir, 'data-workers'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    NODE_ENV: 'production',
    SHUTDOWN_DRAIN_MS: '2000',
  };
  const running: Running[] = [];
  try {
    // One after the other: the first applies the migrations.
    for (const workers of [1, 2]) running.push(await startMain(workers, env));
    const samples = running.map(() => ({ latencies: [] as number[], problems: 0, durationS: 0 }));
    for (const r of running) if (input.warmupS > 0) await load(r.port, input, input.warmupS);
    const slice = input.durationS / input.rounds;
    for (let round = 0; round < input.rounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const s = await load(running[i].port, input, slice);
        samples[i].latencies.push(...s.latencies);
        samples[i].problems += s.problems;
        samples[i].durationS += s.durationS;
      }
    }
    const results = samples.map((s, i) => ({
      workers: i + 1,
      requests: s.latencies.length,
      durationS: s.durationS,
      rps: s.latencies.length / s.durationS,
      latency: summarize(s.latencies),
      problems: s.problems,
    }));
    return { results, scaling: results[1].rps / results[0].rps };
  } finally {
    for (const r of running) await stopMain(r);
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}
