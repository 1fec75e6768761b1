import { createReadStream, appendFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { appendFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { UsageRow } from 'src/modules/billing/usage-row';

const FILE = /^(\d+)-(\d+)-(\d+)\.ndjson$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Ledger records that could not be written to PostgreSQL in time (a long outage past the in-memory cap,
 * or a shutdown while it was down), as NDJSON files under DATA_DIR/ledger-spill. Files are replayed
 * (idempotently) once the database answers again, also by the next process started on the same
 * DATA_DIR — files of a process that is still running on this host are left to it.
 */
@Injectable()
export class LedgerSpillStore {
  private readonly logger = new Logger('UsageLedger');
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly boot = Date.now();
  private seq = 0;
  private bytes = 0;
  private readonly sealed: string[] = [];
  private activeHasData = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.dir = resolve(join(config.DATA_DIR, 'ledger-spill'));
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
    return join(this.dir, `${process.pid}-${this.boot}-${this.seq}.ndjson`);
  }

  private adoptOrphans(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const match = FILE.exec(name);
      if (!match) continue;
      const pid = Number(match[1]);
      if (pid !== process.pid && alive(pid)) continue;
      const file = join(this.dir, name);
      this.sealed.push(file);
      try {
        this.bytes += statSync(file).size;
      } catch {
        // raced with another process replaying it
      }
    }
    if (this.sealed.length > 0) {
      this.logger.log(`found ${this.sealed.length} usage spill file(s) from an earlier run; replaying`);
    }
  }
}
