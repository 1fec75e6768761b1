import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'on' || v === 'true' || v === '1' || v === 'yes');

/** Usage ledger (src/modules/billing): batching, outage buffering and shutdown drain. */
export const ledgerEnv = {
  /** A batch is written at least this often while records wait. */
  LEDGER_FLUSH_INTERVAL_MS: int(10, 60_000).default(250),
  /** Rows per INSERT; a full batch is written at once without waiting for the interval. */
  LEDGER_BATCH_SIZE: int(1, 5_000).default(500),
  /** Records kept in memory while PostgreSQL is unreachable; beyond this they go to a spill file. */
  LEDGER_MAX_BUFFERED: int(100, 10_000_000).default(100_000),
  /** Size cap of the spill files under DATA_DIR/ledger-spill; records beyond it are dropped and counted. */
  LEDGER_SPILL_MAX_BYTES: int(0, 1024 * 1024 * 1024 * 1024).default(1024 * 1024 * 1024),
  /** Back-off between write attempts while PostgreSQL is unreachable: from the interval up to this. */
  LEDGER_RETRY_MAX_MS: int(100, 600_000).default(5_000),
  /** How long shutdown keeps trying to write what is left before spilling it to disk. */
  LEDGER_SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /**
   * Write-ahead journal under DATA_DIR/ledger-journal: each record is appended there before the answer's
   * last byte is sent, so a killed process loses none (the next start on the same DATA_DIR writes them).
   */
  LEDGER_JOURNAL: onOff.default(true),
  /** fdatasync after each journal append: survives a host crash too, at one disk flush per request. */
  LEDGER_JOURNAL_FSYNC: onOff.default(false),
};
