import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationRecord } from 'src/common/observability/invocation';
import { loadAppConfig } from 'src/config/env.config';
import { LedgerJournal } from 'src/modules/billing/ledger-journal.store';
import { LedgerSpillStore } from 'src/modules/billing/ledger-spill.store';
import { UsageLedgerRepository } from 'src/modules/billing/usage-ledger.repository';
import { UsageRow } from 'src/modules/billing/usage-row';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';

/** A repository double that behaves like PostgreSQL for the cases the writer must survive. */
class FakeRepository {
  readonly rows = new Map<string, UsageRow>();
  down = false;
  /** Request ids PostgreSQL would refuse (a data exception, SQLSTATE 22xxx). */
  readonly poison = new Set<string>();

  async insert(rows: readonly UsageRow[]): Promise<void> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    if (rows.some((r) => this.poison.has(r.request_id))) {
      throw Object.assign(new Error('invalid input syntax'), { code: '22P02' });
    }
    for (const row of rows) if (!this.rows.has(row.id)) this.rows.set(row.id, row);
  }
}

const record = (requestId: string): InvocationRecord => ({
  requestId,
  startedAt: Date.now(),
  startedHr: 0,
  surface: 'openai',
  stream: false,
  attempts: 1,
  cacheHit: false,
  promptTokens: 3,
  completionTokens: 2,
  status: 200,
  outcome: 'success',
  latencyMs: 12,
  finishedAt: Date.now(),
});

describe('UsageRecorder', () => {
  let dir: string;
  let repository: FakeRepository;
  let recorder: UsageRecorder;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-unit-'));
    const config = loadAppConfig({
      DATA_DIR: dir,
      LEDGER_MAX_BUFFERED: '100',
      LEDGER_SHUTDOWN_TIMEOUT_MS: '0',
    });
    repository = new FakeRepository();
    recorder = new UsageRecorder(
      config,
      repository as unknown as UsageLedgerRepository,
      new LedgerSpillStore(config),
      new LedgerJournal(config),
    );
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('drops only the row the database refuses as invalid, and writes the rest of its batch', async () => {
    repository.poison.add('bad');
    for (const id of ['a', 'bad', 'b']) recorder.record(record(id));
    await recorder.flush();
    expect([...repository.rows.values()].map((r) => r.request_id).sort()).toEqual(['a', 'b']);
    expect(recorder.status()).toMatchObject({ buffered: 0, written: 2, dropped: 1, degraded: false });
  });

  it('keeps records through an outage, spills past the memory cap, and writes all when back', async () => {
    repository.down = true;
    for (let i = 0; i < 150; i++) recorder.record(record(`r${i}`));
    await recorder.flush();
    expect(recorder.status()).toMatchObject({ buffered: 100, degraded: true });
    expect(recorder.status().spilledBytes).toBeGreaterThan(0);
    expect(recorder.status().lastError).toBe('database write failed (ECONNREFUSED)');
    repository.down = false;
    await recorder.flush();
    expect(repository.rows.size).toBe(150);
    expect(recorder.status()).toMatchObject({ buffered: 0, spilledBytes: 0, dropped: 0, degraded: false });
  });

  it('leaves rows that arrive during a write for the next tick unless they fill a batch', async () => {
    const config = loadAppConfig({
      DATA_DIR: dir,
      LEDGER_BATCH_SIZE: '10',
      LEDGER_FLUSH_INTERVAL_MS: '60000',
    });
    const batches: number[] = [];
    let arriving = 0;
    const slow = {
      // Each write takes a while; `arriving` rows come in while it runs (a steady load).
      insert: async (rows: readonly UsageRow[]): Promise<void> => {
        batches.push(rows.length);
        const late = arriving;
        await new Promise((resolve) => setTimeout(resolve, 2));
        for (let i = 0; i < late; i++) writer.record(record(`late-${batches.length}-${i}`));
        await new Promise((resolve) => setTimeout(resolve, 3));
      },
    };
    const writer = new UsageRecorder(
      config,
      slow as unknown as UsageLedgerRepository,
      new LedgerSpillStore(config),
      new LedgerJournal(config),
    );
    // A full batch starts a write at once; the 3 rows that arrive meanwhile wait for the timer.
    arriving = 3;
    for (let i = 0; i < 10; i++) writer.record(record(`r${i}`));
    arriving = 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toEqual([10]);
    expect(writer.status().buffered).toBe(3);
    // Rows that fill a batch during a write go out right after it.
    arriving = 12;
    for (let i = 0; i < 7; i++) writer.record(record(`s${i}`));
    arriving = 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(batches).toEqual([10, 10, 10]);
    expect(writer.status().buffered).toBe(2);
    // flush (tests, shutdown) writes everything.
    await writer.flush();
    expect(batches).toEqual([10, 10, 10, 2]);
    expect(writer.status()).toMatchObject({ buffered: 0, written: 32 });
  });

  it('writes the same record once even when it is delivered twice', async () => {
    const same = record('twice');
    recorder.record(same);
    recorder.record(same);
    await recorder.flush();
    expect(repository.rows.size).toBe(1);
  });

  it('spills what it cannot write at shutdown, and a new process on the same DATA_DIR writes it', async () => {
    repository.down = true;
    for (let i = 0; i < 5; i++) recorder.record(record(`s${i}`));
    await recorder.onApplicationShutdown();
    expect(recorder.status().buffered).toBe(0);
    const config = loadAppConfig({ DATA_DIR: dir });
    const next = new FakeRepository();
    const successor = new UsageRecorder(
      config,
      next as unknown as UsageLedgerRepository,
      new LedgerSpillStore(config),
      new LedgerJournal(config),
    );
    await successor.flush();
    expect(next.rows.size).toBe(5);
  });
});
