import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway PostgreSQL cluster: initdb into a directory, the server on a free loopback port (its unix
 * socket in that directory), stopped by the pid it wrote. Shared by the reliability harness (the
 * machine's PostgreSQL binaries), the pgvector e2e tests and `bench/rag.ts --db postgres` (pgserver's
 * PostgreSQL 16 with pgvector, from .venv: scripts/setup-python.sh pgvector).
 */

const run = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface PostgresClusterOptions {
  /** Where the cluster lives (`pgdata`, `postgres.log`, the socket); created if missing. */
  dir: string;
  /** The directory holding initdb, pg_ctl, postgres and createdb. */
  binDir: string;
  /** The `gatehouse` superuser's password (scram-sha-256). */
  password: string;
  /** Server settings (`-c name=value`), on top of loopback-only, the socket directory and the port. */
  settings?: Record<string, string | number>;
}

export interface PostgresCluster {
  /** `postgres://gatehouse:…@127.0.0.1:<port>/gatehouse`. */
  url: string;
  port: number;
  /** The postmaster's pid while it runs. */
  pid(): number | undefined;
  start(): Promise<void>;
  /** Fast shutdown (SIGINT to the postmaster this cluster started), waiting until it has exited. */
  stop(): Promise<void>;
  /** Stops the cluster for good. */
  destroy(): Promise<void>;
}

/**
 * initdb + pg_ctl start in `dir`. PostgreSQL refuses to run as root, so under root the cluster belongs
 * to the `postgres` account (runuser); otherwise to the current user.
 */
export async function startPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const { dir, binDir, password } = options;
  const port = await freePort();
  const data = join(dir, 'pgdata');
  const pwfile = join(dir, 'pgpass');
  await mkdir(dir, { recursive: true });
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  const env = { PATH: process.env.PATH ?? '', PGPASSWORD: password };
  if (asRoot) {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(uid.trim()), Number(gid.trim()));
    await chown(pwfile, Number(uid.trim()), Number(gid.trim()));
    await chmod(dir, 0o700);
  }
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args], { cwd: dir, env })
      : run(join(binDir, tool), args, { cwd: dir, env });
  await pg('initdb', [
    '-D',
    data,
    '-U',
    'gatehouse',
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const settings = { listen_addresses: '127.0.0.1', ...options.settings };
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
  ].join(' ');
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  let pid: number | undefined;
  const start = async () => {
    const args = ['-D', data, '-l', join(dir, 'postgres.log'), '-o', serverOptions, '-w', '-t', '60'];
    await pg('pg_ctl', [...args, 'start']);
    pid = postmasterPid();
    if (pid === undefined) throw new Error(`PostgreSQL in ${dir} started without a postmaster.pid`);
  };
  const stop = async () => {
    if (pid === undefined) return;
    const stopping = pid;
    pid = undefined;
    await stopProcess(stopping);
  };
  await start();
  try {
    await pg('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'gatehouse', 'gatehouse']);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${port}/gatehouse`,
    port,
    pid: () => pid,
    start,
    stop,
    destroy: stop,
  };
}

/** SIGINT (PostgreSQL's fast shutdown) to `pid`, SIGKILL if it has not exited within 30 s. */
async function stopProcess(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await sleep(50);
  }
}

/** The repository root (this file is bench/postgres-cluster.ts, or dist/bench/postgres-cluster.js). */
function repoRoot(): string {
  const up = resolve(__dirname, '..');
  return existsSync(join(up, 'package.json')) ? up : resolve(up, '..');
}

/**
 * pgserver's PostgreSQL with pgvector in the repository's .venv (`pgserver/pginstall/bin`), or an
 * error saying how to install it.
 */
export function pgvectorBinDir(root = repoRoot()): string {
  const lib = join(root, '.venv', 'lib');
  const pythons = existsSync(lib) ? readdirSync(lib).filter((name) => name.startsWith('python')) : [];
  for (const python of pythons) {
    const bin = join(lib, python, 'site-packages', 'pgserver', 'pginstall', 'bin');
    if (existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(
    `no PostgreSQL with pgvector under ${lib}/python*/site-packages/pgserver: run scripts/setup-python.sh pgvector`,
  );
}
