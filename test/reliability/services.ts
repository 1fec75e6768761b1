import { ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { freePort, PostgresCluster, startPostgresCluster } from 'bench/postgres-cluster';

/**
 * The dedicated PostgreSQL cluster and redis-server of a reliability run: each on its own loopback
 * port in the run's temporary directory, so a scenario may stop, freeze or restart them without
 * touching anything else on the machine.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { freePort };

export const PG_BIN = process.env.RELIABILITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export type Postgres = PostgresCluster;

/** The run's cluster, from the machine's PostgreSQL binaries (bench/postgres-cluster). */
export function startPostgres(dir: string, password: string): Promise<Postgres> {
  return startPostgresCluster({
    dir,
    binDir: PG_BIN,
    password,
    settings: { fsync: 'off', max_connections: 200 },
  });
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  freeze(): void;
  resume(): void;
  destroy(): Promise<void>;
}

export async function startRedis(dir: string, password: string): Promise<RedisServer> {
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--requirepass',
      password,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('redis-server exited at start');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await sleep(50);
  }
  let frozen = false;
  return {
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    freeze: () => {
      frozen = true;
      child.kill('SIGSTOP');
    },
    resume: () => {
      frozen = false;
      child.kill('SIGCONT');
    },
    destroy: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (frozen) child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
