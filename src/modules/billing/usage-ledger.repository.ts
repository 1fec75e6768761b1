import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EmbeddedClient, EmbeddedPool } from 'src/infra/database/embedded/embedded-pool';
import {
  ROLLUP_GROUPS_UPSERT,
  rollupGroups,
  rollupUpsert,
  ROLLUP_SOURCE_COLUMNS,
} from 'src/modules/billing/usage-rollup';
import { USAGE_COLUMNS, UsageRow } from 'src/modules/billing/usage-row';

const COLUMNS = USAGE_COLUMNS.map(([name]) => name);
const NAMES = COLUMNS.join(', ');
const TYPES = USAGE_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');
// One parameter per batch (a JSON array) keeps the statement the same for any batch size; ON CONFLICT
// makes a retried batch (e.g. the commit landed but the connection died before the answer) harmless.
// The hourly roll-up is fed in the same statement from RETURNING: only the rows actually inserted, so a
// retried or replayed batch adds nothing twice, and a failed one adds nothing.
const INSERT = `WITH inserted AS (
    INSERT INTO usage_records (${NAMES})
    SELECT ${NAMES} FROM jsonb_to_recordset($1::jsonb) AS r(${TYPES})
    ON CONFLICT (id) DO NOTHING
    RETURNING ${ROLLUP_SOURCE_COLUMNS}
  )
  ${rollupUpsert('inserted')}`;
/** Writes ledger rows. Only this class (and UsageQueryRepository) touches the table. */
@Injectable()
export class UsageLedgerRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** `json`: the rows as a JSON array, when the caller has it already (the writer joins the journal's texts). */
  async insert(rows: readonly UsageRow[], json = JSON.stringify(rows)): Promise<void> {
    if (rows.length === 0) return;
    // The embedded database loads a batch with COPY, at a third of the CPU (its WebAssembly shares the
    // machine with the requests), and rolls it up in the same transaction. A batch that is partly in
    // already (a retry) fails COPY as a whole on the primary key: then the INSERT below skips what is there.
    if (this.embedded()) {
      try {
        await this.dataSource.transaction(async (manager) => {
          await embeddedClient(manager).copyRows('usage_records', COLUMNS, json);
          // All rows went in (or none): the batch's sums, added up here, are the roll-up's share.
          await manager.query(ROLLUP_GROUPS_UPSERT, [JSON.stringify(rollupGroups(rows))]);
        });
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      }
    }
    await this.dataSource.query(INSERT, [json]);
  }

  private embedded(): boolean {
    return (this.dataSource.driver as { master?: unknown }).master instanceof EmbeddedPool;
  }
}

function embeddedClient(manager: EntityManager): EmbeddedClient {
  const client = (manager.queryRunner as { databaseConnection?: unknown } | undefined)?.databaseConnection;
  if (!(client instanceof EmbeddedClient)) throw new Error('embedded database: no transaction client');
  return client;
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
