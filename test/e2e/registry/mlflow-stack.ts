import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runPythonJson, VENV_PYTHON } from 'test/e2e/support/python';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const VENV_BIN = join(REPO_ROOT, '.venv', 'bin');
export const FIXTURE_SCRIPT = join(__dirname, 'mlflow_registry_fixture.py');

/** A real MLflow process (tracking server or scoring server) started by a test. */
export interface MlflowProcess {
  url: string;
  port: number;
  /** Kills the process group (MLflow starts uvicorn children) and waits for it to exit. */
  stop(): Promise<void>;
  output(): string;
}

/**
 * A free port for a server that binds it only seconds later (MLflow's CLI boots slowly): taken below the
 * kernel's ephemeral range, where no outgoing connection can claim it in the meantime (see
 * `versionPortPrefix`).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_700);
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port found below the ephemeral range');
}

/** True while something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/**
 * A prefix P such that ports P1 and P2 are free: scoring servers for versions 1 and 2 at `P{version}`.
 * The ports are taken below the kernel's ephemeral range (32768–60999 on Linux): the servers start many
 * seconds after the check, and a port inside that range can meanwhile be taken as the local end of some
 * outgoing connection (seen in CI: "address already in use").
 */
export async function versionPortPrefix(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const prefix = 2000 + Math.floor(Math.random() * 1270); // ports 20001…32692
    if ((await portIsFree(prefix * 10 + 1)) && (await portIsFree(prefix * 10 + 2))) return prefix;
  }
  throw new Error('no free port pair found');
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'MLFLOW_TRACKING_URI',
    'MLFLOW_TRACKING_TOKEN',
    'MLFLOW_TRACKING_USERNAME',
    'MLFLOW_TRACKING_PASSWORD',
  ]) {
    delete base[name];
  }
  return {
    ...base,
    PATH: `${VENV_BIN}:${process.env.PATH ?? ''}`,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}

async function waitUntilUp(
  url: string,
  child: ChildProcess,
  log: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${url} exited early (${child.exitCode}):\n${log().slice(-3000)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms:\n${log().slice(-3000)}`);
}

function start(
  args: string[],
  extraEnv: Record<string, string>,
  port: number,
  readyPath: string,
  timeoutMs: number,
): Promise<MlflowProcess> {
  // Detached: its own process group, so stop() also ends the uvicorn workers it spawns.
  const child = spawn(join(VENV_BIN, 'mlflow'), args, {
    cwd: REPO_ROOT,
    env: env(extraEnv),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const url = `http://127.0.0.1:${port}`;
  const proc: MlflowProcess = {
    url,
    port,
    output: () => log,
    stop: async () => {
      if (child.pid === undefined) return;
      const group = -child.pid;
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(group, name);
        } catch {
          // the group is gone already
        }
      };
      // A child killed by a signal has exitCode null and signalCode set.
      const running = child.exitCode === null && child.signalCode === null;
      const exited = running ? new Promise((r) => child.once('exit', r)) : undefined;
      signal('SIGTERM');
      await exited;
      // The CLI exits before its uvicorn child stops listening: wait until the port is really closed.
      const deadline = Date.now() + 10_000;
      while (await listening(port)) {
        if (Date.now() > deadline) {
          signal('SIGKILL');
          if (Date.now() > deadline + 5_000) throw new Error(`port ${port} still open after SIGKILL`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  return waitUntilUp(`${url}${readyPath}`, child, () => log, timeoutMs).then(
    () => proc,
    async (error: unknown) => {
      await proc.stop();
      throw error;
    },
  );
}

export interface TrackingServer extends MlflowProcess {
  dir: string;
  cleanup(): Promise<void>;
}

/** `mlflow server` on SQLite in a temp dir; webhooks may target loopback (test only). */
export async function startTrackingServer(): Promise<TrackingServer> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-mlflow-'));
  const port = await freePort();
  const server = await start(
    [
      'server',
      '--backend-store-uri',
      `sqlite:///${join(dir, 'mlflow.db')}`,
      '--artifacts-destination',
      join(dir, 'artifacts'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    {
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
      MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https',
      MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: 'true',
      MLFLOW_WEBHOOK_CACHE_TTL: '0',
    },
    port,
    '/health',
    180_000,
  );
  return { ...server, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `mlflow models serve -m <uri> --env-manager local` on the given port. */
export function serveModel(trackingUri: string, modelUri: string, port: number): Promise<MlflowProcess> {
  return start(
    [
      'models',
      'serve',
      '-m',
      modelUri,
      '--env-manager',
      'local',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
    ],
    { MLFLOW_TRACKING_URI: trackingUri },
    port,
    '/ping',
    240_000,
  );
}

/** Trains and registers churn v1 (y = x), churn v2 (y = 10x) and sentiment v1 (= churn v1's model). */
export async function trainModels(trackingUri: string): Promise<Record<string, string[]>> {
  return (await runPythonJson(FIXTURE_SCRIPT, ['train', trackingUri])) as Record<string, string[]>;
}

/** Calls the MLflow REST API of the tracking server (the registry writes an ML engineer would make). */
export async function mlflowApi(
  trackingUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${trackingUrl}/api/2.0/mlflow/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`MLflow ${method} ${path} → ${response.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as unknown) : {};
}

export { VENV_PYTHON };
