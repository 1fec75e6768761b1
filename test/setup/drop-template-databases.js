/**
 * jest globalTeardown: drops the migrated template databases this jest process built
 * (test/e2e/support/test-gateway.ts names them gatehouse_tpl_<pid>_<hash>), and any left by processes
 * that have ended, so a run leaves nothing behind on the machine's PostgreSQL.
 */
const { Client } = require('pg');

const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

function ended(pid) {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return error.code !== 'EPERM';
  }
}

module.exports = async function dropTemplateDatabases() {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch {
    return; // no PostgreSQL here: nothing was built
  }
  try {
    const { rows } = await client.query(
      "SELECT datname FROM pg_database WHERE datname LIKE 'gatehouse\\_tpl\\_%'",
    );
    for (const { datname } of rows) {
      const pid = Number(/^gatehouse_tpl_(\d+)_[0-9a-f]+$/.exec(datname)?.[1]);
      if (Number.isInteger(pid) && ended(pid)) {
        await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
      }
    }
  } finally {
    await client.end();
  }
};
