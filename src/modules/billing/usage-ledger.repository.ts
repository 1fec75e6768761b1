import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EmbeddedPool } from 'src/infra/database/embedded/embedded-pool';
import { USAGE_COLUMNS, UsageRow } from 'src/modules/billing/usage-row';

const COLUMNS = USAGE_COLUMNS.map(([name]) => name);
const NAMES = COLUMNS.join(', ');
const TYPES = USAGE_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');
// One parameter per batch (a JSON array) keeps the statement the same for any batch size; ON CONFLICT
// makes a retried batch (e.g. the commit landed but the connection died before the answer) harmless.
const INSERT = `INSERT INTO usage_records (${NAMES})
  SELECT ${NAMES} FROM jsonb_to_recordset($1::jsonb) AS r(${TYPES})
  ON CONFLICT (id) DO NOTHING`;

/** Writes ledger rows. Only this class (and UsageQueryRepository) touches the table. */
@Injectable()
export class UsageLedgerRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const json = JSON.stringify(rows);
    // The embedded database loads a batch with COPY, at a third of the CPU (its WebAssembly shares the
    // machine with the requests). A batch that is partly in already (a retry) fails COPY as a whole on
    // the primary key: then the INSERT below skips what is there.
    const embedded = this.embeddedPool();
    if (embedded) {
      try {
        await embedded.copyRows('usage_records', COLUMNS, json);
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      }
    }
    await this.dataSource.query(INSERT, [json]);
  }

  private embeddedPool(): EmbeddedPool | undefined {
    const pool = (this.dataSource.driver as { master?: unknown }).master;
    return pool instanceof EmbeddedPool ? pool : undefined;
  }
}

const UNIQUE_VIOLATION = '23505';

/**
 * True for errors caused by the rows themselves (SQLSTATE classes 22 data exception and 23 integrity
 * violation): retrying the same batch would fail forever, so the writer isolates the bad row instead.
 * Anything else (connection refused or reset, timeouts, shutdown) is an outage and is retried.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
