import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { types as utilTypes } from 'node:util';
import { PGlite, types } from '@electric-sql/pglite';
import { DataSource, QueryFailedError } from 'typeorm';
import {
  EmbeddedClient,
  EmbeddedPool,
  embeddedPgDriver,
  EmbeddedPoolOptions,
  prestartEmbedded,
} from 'src/infra/database/embedded/embedded-pool';
import { dataSourceOptions, runMigrations } from 'src/infra/database/data-source.factory';
import { isDataError, UsageLedgerRepository } from 'src/modules/billing/usage-ledger.repository';
import { toUsageRow } from 'src/modules/billing/usage-row';

/** The embedded database through its worker-thread pool, as TypeORM and the repositories use it. */
describe('EmbeddedPool (PGlite in a worker thread)', () => {
  const dirs: string[] = [];
  const open: DataSource[] = [];

  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-embedded-'));
    dirs.push(dir);
    return dir;
  };

  /** A bare DataSource (no entities) on its own data directory. */
  const connect = async (options: Partial<EmbeddedPoolOptions> = {}, dataDir?: string) => {
    const dataSource = new DataSource({
      type: 'postgres',
      driver: embeddedPgDriver({ dataDir: dataDir ?? (await tempDir()), ...options }),
    });
    await dataSource.initialize();
    open.push(dataSource);
    return dataSource;
  };

  const poolOf = (dataSource: DataSource) =>
    (dataSource.driver as unknown as { master: EmbeddedPool }).master;
  const workerOf = (dataSource: DataSource) =>
    (poolOf(dataSource) as unknown as { worker: import('node:worker_threads').Worker }).worker;

  afterAll(async () => {
    for (const dataSource of open)
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  describe('memory and first start', () => {
    it('runs with the configured shared_buffers (PostgreSQL would take 128MB)', async () => {
      const small = await connect({ sharedBuffers: '8MB', template: null });
      expect(await small.query('SHOW shared_buffers')).toEqual([{ shared_buffers: '8MB' }]);
      const fallback = await connect({ template: null });
      expect(await fallback.query('SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
    });

    it('starts an empty data directory from a template copy, and a used one as it is', async () => {
      // A template: a data directory with a table and a row, closed cleanly.
      const templateDir = await tempDir();
      const source = await connect({ template: null }, templateDir);
      await source.query('CREATE TABLE seeded (id int primary key, label text)');
      await source.query(`INSERT INTO seeded VALUES (1, 'from the template')`);
      await source.destroy();

      const fresh = await tempDir();
      const copy = await connect({ template: templateDir }, fresh);
      expect(await copy.query('SELECT label FROM seeded')).toEqual([{ label: 'from the template' }]);
      await copy.query(`INSERT INTO seeded VALUES (2, 'only in the copy')`);
      await copy.destroy();

      // The template itself is untouched, and a data directory in use is never overwritten by it.
      const again = await connect({ template: templateDir }, fresh);
      expect(await again.query('SELECT count(*)::int AS n FROM seeded')).toEqual([{ n: 2 }]);
      await again.destroy();
      const original = await connect({ template: null }, templateDir);
      expect(await original.query('SELECT count(*)::int AS n FROM seeded')).toEqual([{ n: 1 }]);
    });
  });

  describe('prestart', () => {
    it('hands a worker started ahead of the pool to the pool with the same settings', async () => {
      const dataDir = await tempDir();
      const threadId = prestartEmbedded({ dataDir, template: null });
      expect(threadId).toEqual(expect.any(Number));
      // A second prestart of the same directory starts nothing.
      expect(prestartEmbedded({ dataDir, template: null })).toBeUndefined();
      const dataSource = await connect({ template: null }, dataDir);
      expect(workerOf(dataSource).threadId).toBe(threadId);
      expect(await dataSource.query('SELECT 41 + 1 AS answer')).toEqual([{ answer: 42 }]);
    });

    it('does not hand over a worker started with other settings (it is stopped; the pool starts its own)', async () => {
      const dataDir = await tempDir();
      const threadId = prestartEmbedded({ dataDir, template: null, sharedBuffers: '8MB' });
      const dataSource = await connect({ template: null }, dataDir);
      expect(workerOf(dataSource).threadId).not.toBe(threadId);
      expect(await dataSource.query('SHOW shared_buffers')).toEqual([{ shared_buffers: '16MB' }]);
    });
  });

  describe('results and parameters', () => {
    let dataSource: DataSource;
    let reference: PGlite;

    beforeAll(async () => {
      dataSource = await connect();
      // What typeorm-pglite produced: PGlite on this thread, with the same boolean serializer.
      reference = await PGlite.create({
        dataDir: await tempDir(),
        serializers: {
          [types.BOOL]: (v: unknown) =>
            (v === true || v === 'true' || v === 1
              ? 'TRUE'
              : v === false || v === 'false' || v === 0
                ? 'FALSE'
                : v) as string,
        },
      });
    });

    afterAll(() => reference.close());

    const SAMPLE = `SELECT $1::int AS i, $2::text AS t, $3::boolean AS b, $4::timestamptz AS ts, $5::bytea AS bin,
      $6::jsonb AS doc, $7::numeric AS num, $8::bigint AS big, $9::text AS nothing, $10::text[] AS list,
      $11::double precision AS dbl, $12::uuid AS id, $13::date AS day`;
    const PARAMS = [
      42,
      'héllo',
      'true',
      new Date('2026-01-02T03:04:05.678Z'),
      new Uint8Array([0, 1, 254, 255]),
      JSON.stringify({ a: [1, 'x', null], b: { c: true } }),
      '12.3400000001',
      '9007199254740993',
      null,
      ['a', 'b,c'],
      1.5,
      '0b6f4c2e-8a59-4d6e-9c55-3c3f1b8a2f10',
      '2026-03-04',
    ];

    it('answers what PGlite answers on the main thread, value for value and type for type', async () => {
      const pool = poolOf(dataSource);
      const viaWorker = await pool.query(SAMPLE, PARAMS);
      const direct = await reference.query(SAMPLE, PARAMS);
      expect(viaWorker!.rows).toEqual(direct.rows);
      expect(viaWorker!.fields).toEqual(direct.fields);
      const row = viaWorker!.rows[0] as Record<string, unknown>;
      // util.types, not instanceof: under jest, values cloned from the worker belong to Node's own realm,
      // not the test sandbox's (in the gateway process there is one realm and instanceof holds).
      expect(utilTypes.isDate(row.ts)).toBe(true);
      expect((row.ts as Date).toISOString()).toBe('2026-01-02T03:04:05.678Z');
      expect(utilTypes.isUint8Array(row.bin)).toBe(true);
      expect([...(row.bin as Uint8Array)]).toEqual([0, 1, 254, 255]);
      expect(row).toMatchObject({
        i: 42,
        t: 'héllo',
        b: true,
        doc: { a: [1, 'x', null], b: { c: true } },
        nothing: null,
      });
      expect(row.list).toEqual(['a', 'b,c']);
    });

    it('binds booleans with the typeorm-pglite serializer (true/1/"false"/0)', async () => {
      const rows = await dataSource.query(
        'SELECT $1::boolean AS a, $2::boolean AS b, $3::boolean AS c, $4::boolean AS d',
        [1, 'true', 'false', 0],
      );
      expect(rows).toEqual([{ a: true, b: true, c: false, d: false }]);
    });

    it('reports the command and row counts TypeORM reads (affected rows of UPDATE/DELETE)', async () => {
      await dataSource.query('CREATE TABLE counted (id int PRIMARY KEY)');
      await dataSource.query('INSERT INTO counted SELECT generate_series(1, 5)');
      const [, affected] = await dataSource.query('DELETE FROM counted WHERE id > $1', [2]);
      expect(affected).toBe(3);
      const result = await dataSource
        .createQueryBuilder()
        .delete()
        .from('counted')
        .where('id = :id', { id: 1 })
        .execute();
      expect(result.affected).toBe(1);
    });

    it('runs multi-statement SQL without parameters and answers the last statement', async () => {
      const rows = await dataSource.query(`
        CREATE TABLE multi (n int);
        INSERT INTO multi VALUES (1), (2), (3);
        SELECT sum(n)::int AS total FROM multi;`);
      expect(rows).toEqual([{ total: 6 }]);
      // A statement with no result set answers an empty one, as typeorm-pglite did.
      expect(await dataSource.query('DROP TABLE multi')).toEqual([]);
    });

    it('rejects a parameter structured clone cannot copy, instead of never answering', async () => {
      await expect(dataSource.query('SELECT $1::text AS f', [() => 1])).rejects.toThrow(
        /could not be cloned/,
      );
      expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    });
  });

  describe('errors', () => {
    let dataSource: DataSource;

    beforeAll(async () => {
      dataSource = await connect();
      await dataSource.query('CREATE TABLE uniq (id int PRIMARY KEY, name text UNIQUE)');
      await dataSource.query(`INSERT INTO uniq VALUES (1, 'a')`);
    });

    it('gives a unique violation its SQLSTATE and fields through TypeORM', async () => {
      const error: unknown = await dataSource
        .query('INSERT INTO uniq VALUES ($1, $2)', [2, 'a'])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryFailedError);
      const failed = error as QueryFailedError & Record<string, unknown>;
      expect(failed.driverError).toBeInstanceOf(Error);
      expect(failed.driverError).toMatchObject({
        code: '23505',
        constraint: 'uniq_name_key',
        table: 'uniq',
        schema: 'public',
        severity: 'ERROR',
        detail: 'Key (name)=(a) already exists.',
        message: 'duplicate key value violates unique constraint "uniq_name_key"',
      });
      // QueryFailedError copies the driver's fields onto itself; the ledger's classifier reads them there.
      expect(failed.code).toBe('23505');
      expect(failed.message).toBe('duplicate key value violates unique constraint "uniq_name_key"');
      expect(isDataError(error)).toBe(true);
    });

    it('carries position for a syntax error and the caller’s stack, not the worker’s', async () => {
      const error = (await dataSource.query('SELEC 1').catch((e: unknown) => e)) as QueryFailedError;
      expect(error.driverError).toMatchObject({ code: '42601', position: '1' });
      expect(isDataError(error)).toBe(false);
      expect(error.driverError.stack).toMatch(/PostgresQueryRunner/);
    });

    it('keeps working after errors, in and out of transactions', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      await expect(runner.query(`INSERT INTO uniq VALUES (1, 'dup')`)).rejects.toMatchObject({
        code: '23505',
      });
      await expect(runner.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await runner.rollbackTransaction();
      await runner.release();
      expect(await dataSource.query('SELECT count(*)::int AS n FROM uniq')).toEqual([{ n: 1 }]);
    });
  });

  describe('COPY (copyRows)', () => {
    let dataSource: DataSource;
    const oddColumn = 'Odd "name"';

    beforeAll(async () => {
      dataSource = await connect();
      await dataSource.query(
        'CREATE TABLE loaded (id int PRIMARY KEY, label text, flag boolean, amount numeric, ratio double precision, doc jsonb, "Odd ""name""" text)',
      );
    });

    it('loads every value as INSERT would: escapes, NULL, booleans, numbers, JSON, quoted identifiers', async () => {
      const tricky = 'tab\there, new\nline, cr\r, back\\slash \\N, ünï©ødé';
      await poolOf(dataSource).copyRows(
        'loaded',
        ['id', 'label', 'flag', 'amount', 'ratio', 'doc', oddColumn],
        JSON.stringify([
          {
            id: 1,
            label: tricky,
            flag: true,
            amount: 0.0000411,
            ratio: 1.5e-7,
            doc: { a: [1, 'x\ty'] },
            [oddColumn]: 'q',
          },
          { id: 2, label: null, flag: false, amount: 12345678901234, ratio: -2.5, doc: null },
          { id: 3, label: '\\N', flag: null, amount: null, ratio: null, doc: '"plain"' },
        ]),
      );
      expect(
        await dataSource.query(
          'SELECT id, label, flag, amount::text AS amount, ratio, doc, "Odd ""name""" AS odd FROM loaded ORDER BY id',
        ),
      ).toEqual([
        {
          id: 1,
          label: tricky,
          flag: true,
          amount: '0.0000411',
          ratio: 1.5e-7,
          doc: { a: [1, 'x\ty'] },
          odd: 'q',
        },
        { id: 2, label: null, flag: false, amount: '12345678901234', ratio: -2.5, doc: null, odd: null },
        // A string that merely looks like COPY's NULL marker stays a string.
        { id: 3, label: '\\N', flag: null, amount: null, ratio: null, doc: 'plain', odd: null },
      ]);
    });

    it("loads inside a transaction on its client: committed or rolled back with the transaction's other statements", async () => {
      const load = (manager: import('typeorm').EntityManager, ids: number[]) =>
        (
          manager.queryRunner as unknown as { databaseConnection: EmbeddedClient }
        ).databaseConnection.copyRows(
          'loaded',
          ['id', 'label'],
          JSON.stringify(ids.map((id) => ({ id, label: 'tx' }))),
        );
      await dataSource.transaction(async (manager) => {
        await manager.query(`INSERT INTO loaded (id, label) VALUES (40, 'tx')`);
        await load(manager, [41, 42]);
        // Seen by the transaction before the commit (a COPY on another client would wait for it).
        expect(await manager.query(`SELECT count(*)::int AS n FROM loaded WHERE label = 'tx'`)).toEqual([
          { n: 3 },
        ]);
      });
      await expect(
        dataSource.transaction(async (manager) => {
          await load(manager, [43, 44]);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await dataSource.query(`SELECT id FROM loaded WHERE label = 'tx' ORDER BY id`)).toEqual([
        { id: 40 },
        { id: 41 },
        { id: 42 },
      ]);
      await dataSource.query(`DELETE FROM loaded WHERE label = 'tx'`);
    });

    it('is all or nothing: a duplicate key fails the whole load with 23505, a bad value is a data error', async () => {
      const pool = poolOf(dataSource);
      const duplicate = await pool
        .copyRows(
          'loaded',
          ['id', 'label'],
          JSON.stringify([
            { id: 10, label: 'new' },
            { id: 1, label: 'dup' },
          ]),
        )
        .catch((e: unknown) => e);
      expect(duplicate).toMatchObject({ code: '23505' });
      expect(await dataSource.query('SELECT count(*)::int AS n FROM loaded WHERE id = 10')).toEqual([
        { n: 0 },
      ]);
      const bad = await pool
        .copyRows('loaded', ['id', 'flag'], JSON.stringify([{ id: 11, flag: 'maybe' }]))
        .catch((e: unknown) => e);
      expect(isDataError(bad)).toBe(true);
      expect(await dataSource.query('SELECT count(*)::int AS n FROM loaded')).toEqual([{ n: 3 }]);
    });
  });

  describe('usage ledger on the embedded database', () => {
    let dataSource: DataSource;
    let repository: UsageLedgerRepository;
    const row = (n: number) =>
      toUsageRow({
        requestId: `req-${n}`,
        invocationId: `0b6f4c2e-8a59-4d6e-9c55-${String(n).padStart(12, '0')}`,
        startedAt: Date.UTC(2026, 11, 1),
        startedHr: 0,
        finishedAt: Date.UTC(2026, 11, 1) + n,
        latencyMs: 12.5,
        surface: 'openai',
        stream: false,
        attempts: 1,
        cacheHit: false,
        status: 200,
        outcome: 'success',
        costUsd: 0.0000411,
        promptTokens: 42,
        requested: 'tab\tand\nnewline',
      });

    beforeAll(async () => {
      dataSource = await new DataSource(
        dataSourceOptions({ DATA_DIR: await tempDir(), DATABASE_URL: undefined }),
      ).initialize();
      open.push(dataSource);
      await runMigrations(dataSource, true);
      repository = new UsageLedgerRepository(dataSource);
    });

    it('writes batches through COPY, and a retried batch (partly written) adds only what is missing', async () => {
      // On the transaction's client: the roll-up is updated in the same transaction.
      const copy = jest.spyOn(EmbeddedClient.prototype, 'copyRows');
      await repository.insert([row(1), row(2)]);
      await repository.insert([row(1), row(2), row(3)]);
      await repository.insert([row(3)]);
      expect(copy).toHaveBeenCalledTimes(3);
      copy.mockRestore();
      expect(
        await dataSource.query(
          'SELECT request_id, cost_usd::text AS cost, prompt_tokens, requested FROM usage_records ORDER BY request_id',
        ),
      ).toEqual(
        ['req-1', 'req-2', 'req-3'].map((id) => ({
          request_id: id,
          cost: '0.0000411000',
          prompt_tokens: 42,
          requested: 'tab\tand\nnewline',
        })),
      );
      // Each row counted once in the roll-up, although rows 1-3 were each sent twice.
      expect(
        await dataSource.query(
          'SELECT requests::int AS requests, cost_usd::text AS cost FROM usage_rollup_hourly',
        ),
      ).toEqual([{ requests: 3, cost: '0.0001233000' }]);
    });
  });

  describe('transactions', () => {
    let dataSource: DataSource;

    beforeAll(async () => {
      dataSource = await connect({ transactionWaitMs: 500 });
      await dataSource.query('CREATE TABLE items (id int PRIMARY KEY, note text)');
    });

    beforeEach(() => dataSource.query('DELETE FROM items'));

    it('commits and rolls back through a TypeORM query runner', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      await runner.query(`INSERT INTO items VALUES (1, 'kept')`);
      await runner.commitTransaction();
      await runner.startTransaction();
      await runner.query(`INSERT INTO items VALUES (2, 'undone')`);
      await runner.rollbackTransaction();
      await runner.release();
      expect(await dataSource.query('SELECT id FROM items ORDER BY id')).toEqual([{ id: 1 }]);
    });

    it('rolls back dataSource.transaction() when the callback throws', async () => {
      await expect(
        dataSource.transaction(async (m) => {
          await m.query(`INSERT INTO items VALUES (3, 'x')`);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await dataSource.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);
    });

    it('keeps other clients’ statements out of an open transaction (they wait, then run on their own)', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      await runner.query(`INSERT INTO items VALUES (10, 'in the transaction')`);
      // Another caller (e.g. the usage ledger) writes meanwhile: it waits rather than joining the transaction.
      let outsideDone = false;
      const outside = dataSource
        .query(`INSERT INTO items VALUES (11, 'outside')`)
        .then(() => (outsideDone = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(outsideDone).toBe(false);
      expect(await runner.query('SELECT id FROM items ORDER BY id')).toEqual([{ id: 10 }]);
      await runner.rollbackTransaction();
      await runner.release();
      await outside;
      // The rollback took only the transaction's own row.
      expect(await dataSource.query('SELECT id FROM items ORDER BY id')).toEqual([{ id: 11 }]);
    });

    it('rolls back a transaction whose client is released while still open, freeing the session', async () => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      await runner.query(`INSERT INTO items VALUES (20, 'abandoned')`);
      await runner.release();
      expect(await dataSource.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);
    });

    it('fails (55P03), instead of hanging, a query that waits on a transaction from inside it', async () => {
      const started = Date.now();
      const error: unknown = await dataSource
        .transaction(async (m) => {
          await m.query(`INSERT INTO items VALUES (30, 'x')`);
          // The mistake this guards against: a second client used inside the transaction callback.
          await dataSource.query('SELECT 1');
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '55P03' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(await dataSource.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);
    });

    it('runs a REPEATABLE READ transaction (isolation level set after START TRANSACTION)', async () => {
      await dataSource.query(`INSERT INTO items VALUES (40, 'a')`);
      const counts = await dataSource.transaction('REPEATABLE READ', async (m) => {
        const level = await m.query<unknown[]>('SHOW transaction_isolation');
        const count = await m.query<unknown[]>('SELECT count(*)::int AS n FROM items');
        return [level, count];
      });
      expect(counts).toEqual([[{ transaction_isolation: 'repeatable read' }], [{ n: 1 }]]);
    });
  });

  describe('lifecycle', () => {
    it('runs the migrations at boot and persists data across close and reopen of one DATA_DIR', async () => {
      const dataDirRoot = await tempDir();
      const first = await new DataSource(
        dataSourceOptions({ DATA_DIR: dataDirRoot, DATABASE_URL: undefined }),
      ).initialize();
      const applied = await runMigrations(first, true);
      expect(applied.length).toBeGreaterThan(5);
      await first.query(`INSERT INTO usage_records (id, request_id, started_at, finished_at, surface, latency_ms, status, outcome)
        VALUES ('0b6f4c2e-8a59-4d6e-9c55-3c3f1b8a2f10', 'r1', now(), now(), 'openai', 1, 200, 'success')`);
      await first.destroy();

      const second = await new DataSource(
        dataSourceOptions({ DATA_DIR: dataDirRoot, DATABASE_URL: undefined }),
      ).initialize();
      try {
        expect(await runMigrations(second, true)).toEqual([]);
        expect(await second.query('SELECT request_id FROM usage_records')).toEqual([{ request_id: 'r1' }]);
      } finally {
        await second.destroy();
      }
    });

    it('gives each DataSource its own database: two DATA_DIRs in one process, closed independently', async () => {
      const a = await connect();
      const b = await connect();
      await a.query('CREATE TABLE only_in_a (x int)');
      await expect(b.query('SELECT * FROM only_in_a')).rejects.toMatchObject({ code: '42P01' });
      await a.destroy();
      expect(await b.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    });

    it('refuses to open a data directory that is already open in this process', async () => {
      const dir = await tempDir();
      await connect({}, dir);
      await expect(connect({}, dir)).rejects.toThrow(/already open in this process/);
    });

    it('terminates the worker on destroy; later queries fail and nothing is left running', async () => {
      const dataSource = await connect();
      const worker = workerOf(dataSource);
      const pool = poolOf(dataSource);
      const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
      await dataSource.destroy();
      await exited;
      await expect(pool.query('SELECT 1')).rejects.toThrow(/closed/);
      expect(worker.threadId).toBe(-1);
    });

    it('fails the queries in flight and every later one when the worker dies (no hung request)', async () => {
      const dataSource = await connect();
      // A long statement is running in the worker when it goes away.
      const inFlight = dataSource.query('SELECT count(*) FROM generate_series(1, 200000000)');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await workerOf(dataSource).terminate();
      await expect(inFlight).rejects.toMatchObject({ code: '08006' });
      expect(Date.now() - started).toBeLessThan(2000);
      await expect(dataSource.query('SELECT 1')).rejects.toMatchObject({
        code: '08006',
        message: expect.stringMatching(/embedded database worker exited/) as unknown,
      });
      // destroy() still completes on a dead worker.
      await dataSource.destroy();
    });
  });
});
