import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from 'src/infra/database/data-source.factory';
import { BatchRepository } from 'src/modules/batch/batch.repository';
import { ClaimedLine } from 'src/modules/batch/batch.records';
import { createTestDatabase } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

/** The job runner's queue against the real PostgreSQL: claims, leases and guarded results. */
describe('BatchRepository (PostgreSQL)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const sources: DataSource[] = [];
  let one: BatchRepository;
  let two: BatchRepository;

  const open = async (): Promise<DataSource> => {
    const ds = new DataSource({ ...dataSourceOptions({ DATABASE_URL: database.url, DATA_DIR: '' }) });
    await ds.initialize();
    sources.push(ds);
    return ds;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const first = await open();
    await runMigrations(first, false);
    one = new BatchRepository(first);
    two = new BatchRepository(await open());
  });

  afterAll(async () => {
    for (const ds of sources) await ds.destroy();
    await database?.drop();
  });

  async function batchWith(lines: number, id: string): Promise<void> {
    await one.insertFile({
      id: `file-${id}`,
      teamId: null,
      principalId: 'p',
      purpose: 'batch',
      filename: 'f',
      status: 'processed',
    });
    await one.insertBatch({
      id,
      teamId: null,
      principalId: 'p',
      apiKeyId: null,
      endpoint: '/v1/chat/completions',
      inputFileId: `file-${id}`,
      completionWindow: '24h',
      metadata: null,
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    await one.transaction(async (m) => {
      await one.insertLines(
        m,
        id,
        1,
        Array.from({ length: lines }, (_, i) => ({
          customId: `c${i}`,
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: i % 2 ? 'odd' : 'even' },
        })),
      );
      await one.setStatus(m, id, 'in_progress', { total: lines });
    });
  }

  it('never hands the same line to two claimers, and skips endpoints at their cap', async () => {
    await batchWith(40, 'batch_claims');
    const claims = await Promise.all([
      one.claim(15, 60_000, []),
      two.claim(15, 60_000, []),
      one.claim(15, 60_000, ['odd']),
    ]);
    // How many the three take depends on their order (the third skips 'odd' lines, so if it runs last
    // only the evens the others left remain for it): what they leave, one more claim takes.
    const rest = await one.claim(45, 60_000, []);
    const all = [...claims.flat(), ...rest].map((l) => l.line);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(40);
    expect(claims[2].every((l) => l.body.model === 'even')).toBe(true);
    expect(await one.claim(10, 60_000, [])).toEqual([]);
  });

  it('stores a result once, for the claim that holds the line, and reclaims expired leases', async () => {
    await batchWith(3, 'batch_results');
    const [line] = (await one.claim(1, 1_000, [])) as [ClaimedLine];
    const result = { statusCode: 200, response: { ok: 1 }, error: null, requestId: 'r' };
    // The lease runs out (a killed replica): another runner takes the line with a newer attempt.
    await new Promise((r) => setTimeout(r, 1_200));
    const again = (await two.claim(3, 60_000, [])).find((l) => l.line === line.line)!;
    expect(again.attempt).toBe(line.attempt + 1);
    expect(await one.complete(line, result)).toBeUndefined();
    expect(await two.complete(again, result)).toEqual({ total: 3, done: 1 });
    expect(await two.complete(again, result)).toBeUndefined();
    const batch = await one.batch('batch_results');
    expect([batch!.completed, batch!.failed]).toEqual([1, 0]);
  });

  it('puts a released line back after its delay', async () => {
    await batchWith(1, 'batch_release');
    const [line] = await one.claim(1, 60_000, []);
    await one.release(line, 800);
    expect(await two.claim(1, 60_000, [])).toEqual([]);
    await new Promise((r) => setTimeout(r, 1_000));
    const [back] = await two.claim(1, 60_000, []);
    expect(back.line).toBe(line.line);
  });
});
