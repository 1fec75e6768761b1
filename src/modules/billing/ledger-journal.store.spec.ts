import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { InvocationRecord } from 'src/common/observability/invocation';
import { AppConfig, loadAppConfig } from 'src/config/env.config';
import { JOURNAL_DIR, LedgerJournal } from 'src/modules/billing/ledger-journal.store';
import { LedgerSpillStore } from 'src/modules/billing/ledger-spill.store';
import { UsageLedgerRepository } from 'src/modules/billing/usage-ledger.repository';
import { toUsageRow, UsageRow } from 'src/modules/billing/usage-row';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';

/** Keyed on the row id with "do nothing" on a conflict, as the real INSERT is. */
class FakeRepository {
  readonly rows = new Map<string, UsageRow>();
  inserts = 0;
  down = false;

  async insert(rows: readonly UsageRow[]): Promise<void> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    this.inserts += rows.length;
    for (const row of rows) if (!this.rows.has(row.id)) this.rows.set(row.id, row);
  }
}

const record = (requestId: string, promptTokens = 3): InvocationRecord => ({
  requestId,
  startedAt: Date.now(),
  startedHr: 0,
  surface: 'openai',
  stream: false,
  attempts: 1,
  cacheHit: false,
  promptTokens,
  completionTokens: 2,
  status: 200,
  outcome: 'success',
  latencyMs: 12,
  finishedAt: Date.now(),
});

/** A pid that belonged to a process which has exited (as a SIGKILLed replica's has). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

/** Moves a journal file under another pid's name, as if that process had written it. */
function adoptAs(file: string, pid: number): string {
  const target = join(file, '..', basename(file).replace(/^\d+-/, `${pid}-`));
  renameSync(file, target);
  return target;
}

describe('LedgerJournal', () => {
  let dir: string;
  let config: AppConfig;
  const journalDir = () => join(dir, JOURNAL_DIR);
  const files = () => (existsSync(journalDir()) ? readdirSync(journalDir()) : []);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-journal-'));
    config = loadAppConfig({ DATA_DIR: dir, LEDGER_SHUTDOWN_TIMEOUT_MS: '0' });
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const recorderOn = (repository: FakeRepository, env: Record<string, string> = {}) => {
    const cfg = loadAppConfig({ DATA_DIR: dir, LEDGER_SHUTDOWN_TIMEOUT_MS: '0', ...env });
    const journal = new LedgerJournal(cfg);
    const recorder = new UsageRecorder(
      cfg,
      repository as unknown as UsageLedgerRepository,
      new LedgerSpillStore(cfg),
      journal,
    );
    return { recorder, journal };
  };

  it('appends one NDJSON line per record, at once, to a file named after this process', () => {
    const journal = new LedgerJournal(config);
    const rows = ['a', 'b', 'c'].map((id) => toUsageRow(record(id)));
    for (const row of rows) journal.append(row);
    expect(files()).toEqual([expect.stringMatching(new RegExp(`^${process.pid}-\\d+-0\\.ndjson$`))]);
    const lines = readFileSync(join(journalDir(), files()[0]), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l) as UsageRow)).toEqual(rows);
    expect(journal.outstanding).toBe(3);
  });

  it('empties its file once every record in it is settled, and not before', () => {
    const journal = new LedgerJournal(config);
    for (const id of ['a', 'b', 'c']) journal.append(toUsageRow(record(id)));
    const file = join(journalDir(), files()[0]);
    journal.settle(2);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    journal.settle(1);
    expect(readFileSync(file, 'utf8')).toBe('');
    journal.append(toUsageRow(record('d')));
    expect((JSON.parse(readFileSync(file, 'utf8')) as UsageRow).request_id).toBe('d');
  });

  it('rotates to a new segment past 4 MiB and deletes a segment once the rows in it are committed', () => {
    const journal = new LedgerJournal(config);
    const row = toUsageRow(record('x'));
    const size = Buffer.byteLength(`${JSON.stringify(row)}\n`);
    const perSegment = Math.ceil((4 * 1024 * 1024) / size);
    const total = perSegment + 10;
    // Same-length ids, so every line has the size measured above.
    for (let i = 0; i < total; i++)
      journal.append({ ...row, id: `${row.id.slice(0, -6)}${String(i).padStart(6, '0')}` });
    expect(files()).toHaveLength(2);
    const [first, second] = journal.files();
    expect(readFileSync(first, 'utf8').split('\n').filter(Boolean)).toHaveLength(perSegment);
    expect(readFileSync(second, 'utf8').split('\n').filter(Boolean)).toHaveLength(10);
    journal.settle(perSegment - 1);
    expect(existsSync(first)).toBe(true);
    journal.settle(1);
    expect(existsSync(first)).toBe(false);
    expect(readFileSync(second, 'utf8').split('\n').filter(Boolean)).toHaveLength(10);
    expect(journal.outstanding).toBe(10);
  });

  it('writes nothing when LEDGER_JOURNAL=off', () => {
    const journal = new LedgerJournal(loadAppConfig({ DATA_DIR: dir, LEDGER_JOURNAL: 'off' }));
    journal.append(toUsageRow(record('a')));
    expect(files()).toEqual([]);
  });

  it('is trimmed as the recorder commits, and gone after a clean shutdown', async () => {
    const repository = new FakeRepository();
    const { recorder, journal } = recorderOn(repository, { LEDGER_SHUTDOWN_TIMEOUT_MS: '10000' });
    for (let i = 0; i < 5; i++) recorder.record(record(`r${i}`));
    const [file] = journal.files();
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(5);
    await recorder.flush();
    expect(repository.rows.size).toBe(5);
    expect(readFileSync(file, 'utf8')).toBe('');
    recorder.record(record('late'));
    await recorder.onApplicationShutdown();
    expect(repository.rows.size).toBe(6);
    expect(files()).toEqual([]);
  });

  it('counts spilled records as settled: the spill store holds them from then on', async () => {
    const repository = new FakeRepository();
    repository.down = true;
    const { recorder, journal } = recorderOn(repository, { LEDGER_MAX_BUFFERED: '100' });
    for (let i = 0; i < 150; i++) recorder.record(record(`s${i}`));
    await recorder.flush();
    expect(recorder.status().buffered).toBe(100);
    expect(journal.outstanding).toBe(100);
  });

  it("replays a killed process's journal once: rows it had committed are not written twice", async () => {
    const repository = new FakeRepository();
    const { recorder, journal } = recorderOn(repository);
    for (let i = 0; i < 4; i++) recorder.record(record(`k${i}`, 10 + i));
    await recorder.flush();
    for (let i = 4; i < 10; i++) recorder.record(record(`k${i}`, 10 + i));
    // Killed here: the flush emptied the journal of the four committed rows; six were only in memory.
    const [file] = journal.files();
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(6);
    const orphan = adoptAs(file, deadPid());
    // Rows the dead process committed just before the kill, without having trimmed its journal yet.
    const committedLate = readFileSync(orphan, 'utf8').split('\n').filter(Boolean).slice(0, 2);
    for (const line of committedLate) await repository.insert([JSON.parse(line) as UsageRow]);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const { recorder: successor } = recorderOn(repository);
    await successor.flush();
    expect(log).toHaveBeenCalledWith(expect.stringContaining('1 usage journal file(s) of a stopped process'));
    expect([...repository.rows.values()].map((r) => r.request_id).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `k${i}`).sort(),
    );
    const tokens = [...repository.rows.values()].reduce((sum, r) => sum + (r.prompt_tokens ?? 0), 0);
    expect(tokens).toBe(Array.from({ length: 10 }, (_, i) => 10 + i).reduce((a, b) => a + b, 0));
    expect(existsSync(orphan)).toBe(false);
  });

  it('leaves the journal of a process that is still running alone', async () => {
    const repository = new FakeRepository();
    mkdirSync(journalDir(), { recursive: true });
    const live = join(journalDir(), `${process.ppid}-1-0.ndjson`);
    writeFileSync(live, `${JSON.stringify(toUsageRow(record('theirs')))}\n`);
    const { recorder } = recorderOn(repository);
    await recorder.flush();
    await recorder.flush();
    expect(repository.rows.size).toBe(0);
    expect(existsSync(live)).toBe(true);
  });

  it('skips a torn last line (a kill mid-write) with a warning, and writes the rest', async () => {
    const repository = new FakeRepository();
    mkdirSync(journalDir(), { recursive: true });
    const whole = ['t1', 't2'].map((id) => `${JSON.stringify(toUsageRow(record(id)))}\n`).join('');
    const torn = JSON.stringify(toUsageRow(record('t3'))).slice(0, 57);
    const file = join(journalDir(), `${deadPid()}-1-0.ndjson`);
    writeFileSync(file, whole + torn);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const { recorder } = recorderOn(repository);
    await recorder.flush();
    expect([...repository.rows.values()].map((r) => r.request_id).sort()).toEqual(['t1', 't2']);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('skipping an unreadable line'));
    expect(recorder.status()).toMatchObject({ degraded: false, spilledBytes: 0 });
    expect(existsSync(file)).toBe(false);
  });
});
