import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { ledgerFileName } from 'src/modules/billing/ledger-files';
import { UsageRow } from 'src/modules/billing/usage-row';

/** Journal segments live here; a stopped process's segments are replayed by the spill store. */
export const JOURNAL_DIR = 'ledger-journal';

/** A segment is closed and a new one started past this size, so committed rows can be deleted in whole files. */
const SEGMENT_BYTES = 4 * 1024 * 1024;

interface Segment {
  file: string;
  /** Sequence number one past the segment's last row. */
  end: number;
}

/**
 * The usage ledger's write-ahead journal: every record is appended (one synchronous write of one NDJSON
 * line to an open file) before it is buffered for PostgreSQL, and the writer reports back how many of
 * the oldest records it has committed (or handed to the spill store). Records leave the buffer strictly
 * in the order they entered it, so one counter is all the bookkeeping needed: a closed segment goes once
 * every record in it is settled, and the open one is emptied whenever nothing is outstanding.
 *
 * A process killed outright leaves its segments behind; the next process on the same DATA_DIR replays
 * them through the spill store (same format, `INSERT … ON CONFLICT (id) DO NOTHING`, so rows that had
 * been committed are not written twice). Without LEDGER_JOURNAL_FSYNC the append only reaches the page
 * cache: that survives the death of the process, not a crash of the host.
 */
@Injectable()
export class LedgerJournal {
  private readonly logger = new Logger('UsageLedger');
  private readonly dir: string;
  private readonly enabled: boolean;
  private readonly fsync: boolean;
  private readonly boot = Date.now();
  private seq = 0;
  private fd: number | undefined;
  private file = '';
  private fileBytes = 0;
  private readonly sealed: Segment[] = [];
  /** Records appended since start, and how many of the oldest are settled. */
  private appended = 0;
  private settledCount = 0;
  private failures = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.dir = resolve(join(config.DATA_DIR, JOURNAL_DIR));
    this.enabled = config.LEDGER_JOURNAL;
    this.fsync = config.LEDGER_JOURNAL_FSYNC;
  }

  /** Records appended and not yet settled. */
  get outstanding(): number {
    return this.appended - this.settledCount;
  }

  /** Files of this process currently on disk (closed segments and the open one). */
  files(): string[] {
    return [...this.sealed.map((s) => s.file), ...(this.fd === undefined ? [] : [this.file])];
  }

  /**
   * Appends one record and returns its JSON text (the ledger writer reuses it for the batch). A disk that
   * refuses is logged, never thrown: the record is still buffered, it only loses its protection against a kill.
   */
  append(row: UsageRow): string | undefined {
    if (!this.enabled) return undefined;
    this.appended++;
    const json = JSON.stringify(row);
    const line = `${json}\n`;
    try {
      const fd = this.fd ?? this.open();
      writeSync(fd, line);
      if (this.fsync) fdatasyncSync(fd);
      this.fileBytes += line.length;
      if (this.fileBytes >= SEGMENT_BYTES) this.seal();
    } catch (error) {
      this.failures++;
      if (this.failures === 1 || this.failures % 1000 === 0) {
        this.logger.error(`usage journal append failed (${this.failures}x): ${(error as Error).message}`);
      }
    }
    return json;
  }

  /** The `count` oldest outstanding records are committed to PostgreSQL or spilled: their files may go. */
  settle(count: number): void {
    if (!this.enabled || count <= 0) return;
    this.settledCount = Math.min(this.appended, this.settledCount + count);
    while (this.sealed.length > 0 && this.sealed[0].end <= this.settledCount) {
      remove(this.sealed.shift()!.file);
    }
    if (this.settledCount === this.appended && this.fd !== undefined && this.fileBytes > 0) {
      try {
        // O_APPEND: the next record is written at the new end, offset 0.
        ftruncateSync(this.fd, 0);
        this.fileBytes = 0;
      } catch (error) {
        this.logger.warn(`usage journal truncate failed: ${(error as Error).message}`);
      }
    }
  }

  /** At shutdown: the open file is closed, and deleted when everything in it is settled. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (this.settledCount === this.appended) remove(this.file);
    else this.sealed.push({ file: this.file, end: this.appended });
  }

  private open(): number {
    mkdirSync(this.dir, { recursive: true });
    this.file = join(this.dir, ledgerFileName(this.boot, this.seq++));
    this.fd = openSync(this.file, 'a');
    this.fileBytes = 0;
    return this.fd;
  }

  private seal(): void {
    closeSync(this.fd!);
    this.fd = undefined;
    if (this.settledCount === this.appended) remove(this.file);
    else this.sealed.push({ file: this.file, end: this.appended });
  }
}

function remove(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
