import { createReadStream, appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { appendFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { ledgerFileName, orphanFiles } from 'src/modules/billing/ledger-files';
import { JOURNAL_DIR } from 'src/modules/billing/ledger-journal.store';
import { UsageRow } from 'src/modules/billing/usage-row';

/**
 * Ledger records that could not be written to PostgreSQL in time (a long outage past the in-memory cap,
 * or a shutdown while it was down), as NDJSON files under DATA_DIR/ledger-spill. Files are replayed
 * (idempotently) once the database answers again, also by the next process started on the same
 * DATA_DIR — files of a process that is still running on this host are left to it. The journal
 * segments a killed process left under DATA_DIR/ledger-journal (same format) are replayed the same way.
 */
@Injectable()
export class LedgerSpillStore {
  private readonly logger = new Logger('UsageLedger');
  private readonly dir: string;
  private readonly journalDir: string;
  private readonly maxBytes: number;
  private readonly boot = Date.now();
  private seq = 0;
  private bytes = 0;
  private readonly sealed: string[] = [];
  private activeHasData = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.dir = resolve(join(config.DATA_DIR, 'ledger-spill'));
    this.journalDir = resolve(join(config.DATA_DIR, JOURNAL_DIR));
    this.maxBytes = config.LEDGER_SPILL_MAX_BYTES;
    this.adoptOrphans();
  }

  /** Bytes currently held in spill files. */
  get size(): number {
    return this.bytes;
  }

  /** Files waiting to be replayed (the file being appended to is sealed first). */
  pendingFiles(): string[] {
    if (this.activeHasData) {
      this.sealed.push(this.active());
      this.seq++;
      this.activeHasData = false;
    }
    return [...this.sealed];
  }

  /** Appends rows; returns how many were kept (the rest would exceed LEDGER_SPILL_MAX_BYTES). */
  async append(rows: readonly UsageRow[]): Promise<number> {
    const { text, kept } = this.encode(rows);
    if (kept === 0) return 0;
    mkdirSync(this.dir, { recursive: true });
    await appendFile(this.active(), text);
    this.bytes += Buffer.byteLength(text);
    this.activeHasData = true;
    return kept;
  }

  /** Synchronous append for the last moments of shutdown. */
  appendSync(rows: readonly UsageRow[]): number {
    const { text, kept } = this.encode(rows);
    if (kept === 0) return 0;
    mkdirSync(this.dir, { recursive: true });
    appendFileSync(this.active(), text);
    this.bytes += Buffer.byteLength(text);
    this.activeHasData = true;
    return kept;
  }

  /** Reads a file in batches of `size` rows. */
  async *read(file: string, size: number): AsyncGenerator<UsageRow[]> {
    // Gone: replayed and removed by someone else; there is nothing left to write.
    if (!existsSync(file)) return;
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let batch: UsageRow[] = [];
    for await (const line of lines) {
      if (!line) continue;
      try {
        batch.push(JSON.parse(line) as UsageRow);
      } catch {
        // A torn last line (crash mid-write) is the only way to get here; it is skipped.
        this.logger.warn(`skipping an unreadable line in ${file}`);
        continue;
      }
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async remove(file: string): Promise<void> {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      // already gone
    }
    await unlink(file).catch(() => undefined);
    this.bytes = Math.max(0, this.bytes - size);
    const index = this.sealed.indexOf(file);
    if (index >= 0) this.sealed.splice(index, 1);
  }

  private encode(rows: readonly UsageRow[]): { text: string; kept: number } {
    let text = '';
    let kept = 0;
    let room = this.maxBytes - this.bytes;
    for (const row of rows) {
      const line = `${JSON.stringify(row)}\n`;
      const size = Buffer.byteLength(line);
      if (size > room) break;
      room -= size;
      text += line;
      kept++;
    }
    return { text, kept };
  }

  private active(): string {
    return join(this.dir, ledgerFileName(this.boot, this.seq));
  }

  /**
   * Takes over the files of stopped processes (spill files, and journal segments a killed process left).
   * Each is renamed to a name of this process first: the rename is atomic, so of two processes starting
   * on one DATA_DIR (workers of one primary) exactly one gets each file, and a file this process dies
   * holding is found again by the next one.
   */
  private adoptOrphans(): void {
    let spilled = 0;
    let journaled = 0;
    for (const [dir, journal] of [
      [this.dir, false],
      [this.journalDir, true],
    ] as const) {
      for (const { path, bytes } of orphanFiles(dir)) {
        const claimed = join(this.dir, ledgerFileName(this.boot, this.seq));
        try {
          mkdirSync(this.dir, { recursive: true });
          renameSync(path, claimed);
        } catch {
          continue; // another process took it first
        }
        this.seq++;
        this.sealed.push(claimed);
        this.bytes += bytes;
        if (journal) journaled++;
        else spilled++;
      }
    }
    if (spilled > 0) {
      this.logger.log(`found ${spilled} usage spill file(s) from an earlier run; replaying`);
    }
    if (journaled > 0) {
      this.logger.log(
        `found ${journaled} usage journal file(s) of a stopped process; replaying (committed rows are skipped)`,
      );
    }
  }
}
