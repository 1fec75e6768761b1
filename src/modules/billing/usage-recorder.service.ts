import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  INVOCATION_ANSWERED,
  INVOCATION_FINISHED,
  InvocationRecord,
} from 'src/common/observability/invocation';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { LedgerJournal } from 'src/modules/billing/ledger-journal.store';
import { LedgerSpillStore } from 'src/modules/billing/ledger-spill.store';
import { isDataError, UsageLedgerRepository } from 'src/modules/billing/usage-ledger.repository';
import { toUsageRow, UsageRow } from 'src/modules/billing/usage-row';

export interface LedgerStatus {
  /** Records waiting in memory. */
  buffered: number;
  /** Bytes of records waiting in spill files under DATA_DIR. */
  spilledBytes: number;
  /** Records written by this process since it started. */
  written: number;
  /** Records given up (spill cap reached, or rows PostgreSQL refused as invalid). */
  dropped: number;
  /** True while the last write attempt failed (PostgreSQL unreachable). */
  degraded: boolean;
  lastError: string | null;
  lastWriteAt: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The usage ledger's writer. The INVOCATION_FINISHED listener only copies the record into an in-memory
 * buffer; a timer writes it in batches (`INSERT … ON CONFLICT (id) DO NOTHING`), so the request path
 * never waits for PostgreSQL. While the database is unreachable the buffer grows up to
 * LEDGER_MAX_BUFFERED records, then spills to disk, and writes resume with back-off when it returns. On
 * shutdown (after the HTTP server has drained) everything left is written, or spilled if it cannot be.
 * Each record is also appended to the write-ahead journal as it arrives (the invocation is emitted before
 * the answer's last byte is sent), and the journal is told as the oldest records are committed or
 * spilled, so a SIGKILL loses nothing the callers were answered for.
 */
@Injectable()
export class UsageRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('UsageLedger');
  private buffer: UsageRow[] = [];
  /** Each buffered row's JSON text as the journal wrote it: a batch is those texts joined, not serialized again. */
  private readonly json = new WeakMap<UsageRow, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private retryAt = 0;
  private written = 0;
  private dropped = 0;
  private lastError: string | null = null;
  private lastWriteAt: number | null = null;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: UsageLedgerRepository,
    private readonly spill: LedgerSpillStore,
    private readonly journal: LedgerJournal,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.kick(), this.config.LEDGER_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** An HTTP answer about to be sent in full: journaled now, before its last byte leaves. */
  @OnEvent(INVOCATION_ANSWERED)
  onAnswered(record: InvocationRecord): void {
    this.record(record);
  }

  @OnEvent(INVOCATION_FINISHED)
  onFinished(record: InvocationRecord): void {
    if (record.answered !== true) this.record(record);
  }

  record(record: InvocationRecord): void {
    const row = toUsageRow(record);
    const json = this.journal.append(row);
    if (json !== undefined) this.json.set(row, json);
    this.buffer.push(row);
    // A full batch goes out at once rather than waiting for the timer (unless writes are backing off).
    if (this.buffer.length >= this.config.LEDGER_BATCH_SIZE && !this.running) void this.kick();
  }

  status(): LedgerStatus {
    return {
      buffered: this.buffer.length,
      spilledBytes: this.spill.size,
      written: this.written,
      dropped: this.dropped,
      degraded: this.failures > 0,
      lastError: this.lastError,
      lastWriteAt: this.lastWriteAt === null ? null : new Date(this.lastWriteAt).toISOString(),
    };
  }

  /** Writes what is buffered now (tests, shutdown). Resolves when the attempt is over. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.retryAt = 0;
    await this.kick(true);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    // Responses that closed with the server may still be delivering their events.
    await new Promise((resolve) => setImmediate(resolve));
    const deadline = Date.now() + this.config.LEDGER_SHUTDOWN_TIMEOUT_MS;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.buffer.length > 0) await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    if (this.buffer.length > 0) {
      const rows = this.buffer.splice(0);
      const kept = this.spill.appendSync(rows);
      this.journal.settle(rows.length);
      this.dropped += rows.length - kept;
      this.logger.error(
        `PostgreSQL unreachable at shutdown: ${kept} usage record(s) saved under DATA_DIR/ledger-spill for the next start` +
          (kept < rows.length ? `, ${rows.length - kept} dropped (spill cap)` : ''),
      );
    }
    this.journal.close();
  }

  private kick(all = false): Promise<void> | undefined {
    if (this.running || Date.now() < this.retryAt) return this.running;
    this.running = this.drain(all).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Writes what is buffered in batches. Rows that arrived during a write wait for the next tick unless they
   * fill a batch (or `all`: flush and shutdown): writing them at once would turn a steady load into a
   * stream of small batches, each paying the transaction and the roll-up upsert, and keep the database
   * busy without pause (on the embedded database that thread shares the cores with the requests).
   */
  private async drain(all: boolean): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, this.config.LEDGER_BATCH_SIZE);
        await this.write(batch);
        this.buffer.splice(0, batch.length);
        this.journal.settle(batch.length);
        if (!all && !this.stopping && this.buffer.length < this.config.LEDGER_BATCH_SIZE) break;
      }
      this.recovered();
      if (!this.stopping) await this.replaySpill();
    } catch (error) {
      await this.failed(error);
    }
  }

  /** Writes a batch; rows PostgreSQL refuses as invalid are isolated and dropped, never retried forever. */
  private async write(batch: UsageRow[]): Promise<void> {
    try {
      await this.repository.insert(
        batch,
        `[${batch.map((row) => this.json.get(row) ?? JSON.stringify(row)).join(',')}]`,
      );
      this.written += batch.length;
    } catch (error) {
      if (!isDataError(error)) throw error;
      for (const row of batch) {
        try {
          await this.repository.insert([row]);
          this.written++;
        } catch (rowError) {
          if (!isDataError(rowError)) throw rowError;
          this.dropped++;
          this.logger.error(`usage record ${row.id} refused by PostgreSQL and dropped`);
        }
      }
    }
    this.lastWriteAt = Date.now();
  }

  private async replaySpill(): Promise<void> {
    for (const file of this.spill.pendingFiles()) {
      for await (const rows of this.spill.read(file, this.config.LEDGER_BATCH_SIZE)) {
        await this.write(rows);
      }
      await this.spill.remove(file);
      this.logger.log(`replayed spilled usage records from ${file}`);
    }
  }

  private recovered(): void {
    if (this.failures > 0) {
      this.logger.log(`usage ledger writes resumed after ${this.failures} failed attempt(s)`);
    }
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
  }

  private async failed(error: unknown): Promise<void> {
    this.failures++;
    const message = error instanceof Error ? error.message : String(error);
    // The status API shows a classification only, never driver text; the log has the message.
    const code = (error as { code?: unknown } | null)?.code;
    this.lastError = `database write failed${typeof code === 'string' ? ` (${code.slice(0, 32)})` : ''}`;
    const base = this.config.LEDGER_FLUSH_INTERVAL_MS;
    const delay = Math.min(this.config.LEDGER_RETRY_MAX_MS, base * 2 ** Math.min(this.failures, 16));
    this.retryAt = Date.now() + delay * (0.75 + Math.random() * 0.5);
    if (this.failures === 1 || this.failures % 20 === 0) {
      this.logger.warn(
        `usage ledger write failed (${this.failures}x, ${this.buffer.length} buffered): ${message.slice(0, 300)}`,
      );
    }
    const excess = this.buffer.length - this.config.LEDGER_MAX_BUFFERED;
    if (excess > 0) {
      const rows = this.buffer.splice(0, excess);
      try {
        const kept = await this.spill.append(rows);
        this.journal.settle(rows.length);
        if (kept < rows.length) {
          this.dropped += rows.length - kept;
          this.logger.error(`usage spill cap reached: ${rows.length - kept} record(s) dropped`);
        }
        // Spilled rows that did not fit stay lost; the rest wait on disk.
      } catch (spillError) {
        // The disk refused too: keep them in memory rather than lose them.
        this.buffer = rows.concat(this.buffer);
        this.logger.error(`usage spill failed: ${(spillError as Error).message}`);
      }
    }
  }
}
