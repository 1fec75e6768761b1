import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

export interface GatewayProcess {
  url: string;
  pid: number;
  /** Sends a signal to the process (SIGHUP: a cluster primary's rolling restart). */
  signal(signal: NodeJS.Signals): void;
  /** Everything the process wrote on stdout so far (its JSON log lines). */
  stdout(): string;
  stderr(): string;
  /** stdout parsed: one object per JSON line. */
  lines(): Record<string, unknown>[];
  /** SIGTERM, then waits for the exit (graceful shutdown flushes logs and spans). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (no shutdown hooks run), then waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Runs the real `src/main.ts` in its own Node process (compiled on the fly by ts-main.mjs): the
 * start-up order (env → OpenTelemetry → Nest) and the SDK's process-wide patching stay out of jest.
 */
export async function startGatewayProcess(
  yaml: string,
  env: Record<string, string>,
  /** Also wait for this on stdout (a cluster primary's line once every worker listens). */
  readyPattern?: RegExp,
): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-proc-'));
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, yaml);
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'test/e2e/support/ts-main.mjs'), 'src/main.ts'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        GATEWAY_CONFIG: configPath,
        GATEWAY_CONFIG_WATCH: 'false',
        UPSTREAM_ALLOWED_HOSTS: '127.0.0.1',
        DATA_DIR: join(dir, 'data'),
        // One process unless a test asks for workers (with DATABASE_URL the default is one per CPU).
        GATEHOUSE_WORKERS: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = () =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const deadline = Date.now() + 90_000;
  let port: number | undefined;
  while (port === undefined || (readyPattern !== undefined && !readyPattern.test(out))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`gateway process did not start:\n${out}\n${err}`);
    }
    const listening = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
    if (listening) port = Number(listening[1]);
    if (port === undefined || (readyPattern !== undefined && !readyPattern.test(out)))
      await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    signal: (signal) => void child.kill(signal),
    stdout: () => out,
    stderr: () => err,
    lines,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const result = await exited;
      await rm(dir, { recursive: true, force: true });
      return result;
    },
  };
}
