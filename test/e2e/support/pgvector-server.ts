import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgvectorBinDir, PostgresCluster, startPostgresCluster } from 'bench/postgres-cluster';
import { runSetupGroup } from 'test/e2e/support/python';

export interface PgvectorServer {
  /** The cluster's `gatehouse` database, for the gateway under test (DATABASE_URL). */
  url: string;
  cluster: PostgresCluster;
  /** Stops the server (by its pid) and removes its directory. */
  close(): Promise<void>;
}

/**
 * A PostgreSQL 16 server with pgvector 0.6 (pgserver's build, installed into .venv by
 * scripts/setup-python.sh pgvector), in its own temporary directory on a free loopback port: the
 * machine's PostgreSQL has no pgvector. Small (32 MB of shared buffers, no fsync). Should the test
 * process end without `close()`, an exit hook still stops it and removes the directory.
 */
export async function startPgvectorServer(): Promise<PgvectorServer> {
  await runSetupGroup('pgvector');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pgvector-'));
  let cluster: PostgresCluster;
  try {
    cluster = await startPostgresCluster({
      dir,
      binDir: pgvectorBinDir(),
      password: randomBytes(12).toString('hex'),
      settings: { shared_buffers: '32MB', fsync: 'off', max_connections: 50 },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const onExit = () => {
    const pid = cluster.pid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url: cluster.url,
    cluster,
    close: async () => {
      process.removeListener('exit', onExit);
      await cluster.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
