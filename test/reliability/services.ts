import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The dedicated PostgreSQL cluster and redis-server of a reliability run: each on its own loopback
 * port in the run's temporary directory, so a scenario may stop, freeze or restart them without
 * touching anything else on the machine.
 */

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const PG_BIN = process.env.RELIABILITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface Postgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster for good (fast shutdown). */
  destroy(): Promise<void>;
}

/**
 * initdb + pg_ctl in `dir`. PostgreSQL refuses to run as root, so under root the cluster belongs to the
 * `postgres` account (runuser); otherwise to the current user.
 */
export async function startPostgres(dir: string, password: string): Promise<Postgres> {
  const port = await freePort();
  const data = join(dir, 'pgdata');
  const pwfile = join(dir, 'pgpass');
  await mkdir(dir, { recursive: true });
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  const env = { PATH: process.env.PATH ?? '', PGPASSWORD: password };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    await chown(pwfile, Number(stdout.trim()), Number(gid.trim()));
    await chmod(dir, 0o700);
  }
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args], { cwd: dir, env })
      : run(join(PG_BIN, tool), args, { cwd: dir, env });
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
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=200`;
  const start = async () => {
    await pg('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
  };
  const stop = async () => {
    await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await start();
  await pg('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'gatehouse', 'gatehouse']);
  let running = true;
  return {
    url: `postgres://gatehouse:${encodeURIComponent(password)}@127.0.0.1:${port}/gatehouse`,
    port,
    start: async () => {
      await start();
      running = true;
    },
    stop: async () => {
      await stop();
      running = false;
    },
    destroy: async () => {
      if (running) await stop().catch(() => undefined);
      running = false;
    },
  };
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
