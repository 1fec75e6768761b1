import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import {
  BatchError,
  BatchRecord,
  BatchStatus,
  ClaimedLine,
  FileRecord,
  InputLine,
} from 'src/modules/batch/batch.records';

type Row = Record<string, unknown>;

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : `${v as string}`);

function fileOf(r: Row): FileRecord {
  return {
    id: String(r.id),
    teamId: str(r.team_id),
    principalId: str(r.principal_id),
    purpose: String(r.purpose),
    filename: String(r.filename),
    bytes: Number(r.bytes),
    lines: Number(r.lines),
    status: String(r.status),
    createdAt: date(r.created_at)!,
  };
}

function batchOf(r: Row): BatchRecord {
  return {
    id: String(r.id),
    seq: Number(r.seq),
    teamId: str(r.team_id),
    principalId: str(r.principal_id),
    apiKeyId: str(r.api_key_id),
    endpoint: String(r.endpoint) as BatchRecord['endpoint'],
    inputFileId: String(r.input_file_id),
    completionWindow: String(r.completion_window),
    status: String(r.status) as BatchStatus,
    metadata: (r.metadata as Record<string, string> | null) ?? null,
    errors: (r.errors as BatchError[] | null) ?? null,
    outputFileId: str(r.output_file_id),
    errorFileId: str(r.error_file_id),
    total: Number(r.total),
    completed: Number(r.completed),
    failed: Number(r.failed),
    createdAt: date(r.created_at)!,
    expiresAt: date(r.expires_at)!,
    inProgressAt: date(r.in_progress_at),
    finalizingAt: date(r.finalizing_at),
    completedAt: date(r.completed_at),
    failedAt: date(r.failed_at),
    expiredAt: date(r.expired_at),
    cancellingAt: date(r.cancelling_at),
    cancelledAt: date(r.cancelled_at),
  };
}

export interface NewBatch {
  id: string;
  teamId: string | null;
  principalId: string;
  apiKeyId: string | null;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  expiresAt: Date;
}

/** Whose objects a listing shows: a team's, a teamless principal's own, or everyone's (admins). */
export type OwnerScope = { teamId: string } | { principalId: string } | 'all';

function scopeFilter(scope: OwnerScope, params: unknown[]): string {
  if (scope === 'all') return 'TRUE';
  if ('teamId' in scope) {
    params.push(scope.teamId);
    return `team_id = $${params.length}`;
  }
  params.push(scope.principalId);
  return `team_id IS NULL AND principal_id = $${params.length}`;
}

/** A finished line as the output and error files print it. */
export interface DoneLine {
  line: number;
  customId: string;
  state: string;
  statusCode: number | null;
  response: unknown;
  error: { code: string; message: string } | null;
  requestId: string | null;
}

/**
 * Files, batches and batch lines. The lines table is the job runner's queue: a line is claimed with
 * `FOR UPDATE SKIP LOCKED` (so replicas never take the same one) under a lease, and its result is
 * stored together with the batch's counters in one statement, guarded by the claim's token.
 */
@Injectable()
export class BatchRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** Rows of any statement (TypeORM answers UPDATE/DELETE … RETURNING with [rows, affectedCount]). */
  private async q(sql: string, params: unknown[], m?: EntityManager): Promise<Row[]> {
    const result: unknown = await (m ?? this.dataSource.manager).query(sql, params);
    if (
      Array.isArray(result) &&
      result.length === 2 &&
      Array.isArray(result[0]) &&
      typeof result[1] === 'number'
    )
      return result[0] as Row[];
    return result as Row[];
  }

  // ---- files

  async insertFile(file: Omit<FileRecord, 'createdAt' | 'bytes' | 'lines'>): Promise<void> {
    await this.q(
      `INSERT INTO openai_files (id, team_id, principal_id, purpose, filename, status) VALUES ($1, $2, $3, $4, $5, $6)`,
      [file.id, file.teamId, file.principalId, file.purpose, file.filename, file.status],
    );
  }

  async appendChunk(fileId: string, seq: number, data: string, m?: EntityManager): Promise<void> {
    await this.q(
      `INSERT INTO openai_file_chunks (file_id, seq, data) VALUES ($1, $2, $3)`,
      [fileId, seq, data],
      m,
    );
  }

  async finishFile(id: string, bytes: number, lines: number, m?: EntityManager): Promise<void> {
    await this.q(
      `UPDATE openai_files SET bytes = $2, lines = $3, status = 'processed' WHERE id = $1`,
      [id, bytes, lines],
      m,
    );
  }

  async deleteFile(id: string): Promise<boolean> {
    const rows = await this.q(`DELETE FROM openai_files WHERE id = $1 RETURNING id`, [id]);
    return rows.length > 0;
  }

  async file(id: string): Promise<FileRecord | undefined> {
    const rows = await this.q(`SELECT * FROM openai_files WHERE id = $1 AND status = 'processed'`, [id]);
    return rows[0] ? fileOf(rows[0]) : undefined;
  }

  /** Files visible to a team (`undefined`: every team's, for admins), newest first unless `asc`. */
  async files(
    scope: OwnerScope,
    query: { purpose?: string; after?: string; limit: number; asc: boolean },
  ): Promise<FileRecord[]> {
    const params: unknown[] = [];
    const where = [`status = 'processed'`, scopeFilter(scope, params)];
    if (query.purpose) {
      params.push(query.purpose);
      where.push(`purpose = $${params.length}`);
    }
    const op = query.asc ? '>' : '<';
    if (query.after) {
      params.push(query.after);
      where.push(
        `(created_at, id) ${op} (SELECT created_at, id FROM openai_files WHERE id = $${params.length})`,
      );
    }
    params.push(query.limit);
    const dir = query.asc ? 'ASC' : 'DESC';
    const rows = await this.q(
      `SELECT * FROM openai_files WHERE ${where.join(' AND ')} ORDER BY created_at ${dir}, id ${dir} LIMIT $${params.length}`,
      params,
    );
    return rows.map(fileOf);
  }

  /** The file's text, chunk by chunk, in order (one chunk in memory at a time). */
  async *chunks(fileId: string, m?: EntityManager): AsyncGenerator<string> {
    for (let seq = 0; ; seq++) {
      const rows = await this.q(
        `SELECT data FROM openai_file_chunks WHERE file_id = $1 AND seq = $2`,
        [fileId, seq],
        m,
      );
      if (rows.length === 0) return;
      yield String(rows[0].data);
    }
  }

  // ---- batches

  async insertBatch(batch: NewBatch): Promise<BatchRecord> {
    const rows = await this.q(
      `INSERT INTO batches (id, team_id, principal_id, api_key_id, endpoint, input_file_id, completion_window, status, metadata, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'validating', $8, $9) RETURNING *`,
      [
        batch.id,
        batch.teamId,
        batch.principalId,
        batch.apiKeyId,
        batch.endpoint,
        batch.inputFileId,
        batch.completionWindow,
        batch.metadata === null ? null : JSON.stringify(batch.metadata),
        batch.expiresAt.toISOString(),
      ],
    );
    return batchOf(rows[0]);
  }

  async batch(id: string): Promise<BatchRecord | undefined> {
    const rows = await this.q(`SELECT * FROM batches WHERE id = $1`, [id]);
    return rows[0] ? batchOf(rows[0]) : undefined;
  }

  /** Newest first, after the batch `after` (OpenAI's cursor). */
  async batches(scope: OwnerScope, after: string | undefined, limit: number): Promise<BatchRecord[]> {
    const params: unknown[] = [];
    const where: string[] = [scopeFilter(scope, params)];
    if (after) {
      params.push(after);
      where.push(`seq < (SELECT seq FROM batches WHERE id = $${params.length})`);
    }
    params.push(limit);
    const rows = await this.q(
      `SELECT * FROM batches WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(batchOf);
  }

  /** validating|in_progress → cancelling (the runner finishes what is in flight, then → cancelled). */
  async cancel(id: string): Promise<BatchRecord | undefined> {
    const rows = await this.q(
      `UPDATE batches SET status = 'cancelling', cancelling_at = now()
       WHERE id = $1 AND status IN ('validating', 'in_progress') RETURNING *`,
      [id],
    );
    return rows[0] ? batchOf(rows[0]) : undefined;
  }

  /** Takes one batch in `status` that no other replica holds, locked until the transaction ends. */
  async lockOne(m: EntityManager, status: BatchStatus, extra = 'TRUE'): Promise<BatchRecord | undefined> {
    const rows = await this.q(
      `SELECT * FROM batches b WHERE status = $1 AND ${extra} ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [status],
      m,
    );
    return rows[0] ? batchOf(rows[0]) : undefined;
  }

  async setStatus(
    m: EntityManager,
    id: string,
    status: BatchStatus,
    fields: Record<string, unknown> = {},
  ): Promise<void> {
    const sets = [`status = $2`];
    const params: unknown[] = [id, status];
    const stamp: Partial<Record<BatchStatus, string>> = {
      in_progress: 'in_progress_at',
      finalizing: 'finalizing_at',
      completed: 'completed_at',
      failed: 'failed_at',
      expired: 'expired_at',
      cancelled: 'cancelled_at',
    };
    if (stamp[status]) sets.push(`${stamp[status]} = now()`);
    for (const [column, value] of Object.entries(fields)) {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    }
    await this.q(`UPDATE batches SET ${sets.join(', ')} WHERE id = $1`, params, m);
  }

  async insertLines(
    m: EntityManager,
    batchId: string,
    first: number,
    lines: readonly InputLine[],
  ): Promise<void> {
    const json = JSON.stringify(
      lines.map((l, i) => ({ line: first + i, custom_id: l.customId, body: l.body })),
    );
    await this.q(
      `INSERT INTO batch_lines (batch_id, line, custom_id, body)
       SELECT $1, r.line, r.custom_id, r.body FROM jsonb_to_recordset($2::jsonb) AS r(line integer, custom_id text, body jsonb)`,
      [batchId, json],
      m,
    );
  }

  /**
   * Claims up to `limit` runnable lines of in-progress batches (pending, or running under an expired
   * lease: a replica died with them), skipping lines another replica holds and the endpoints in `skip`.
   * Each claim raises the line's `attempts`, the token its result must present.
   */
  async claim(limit: number, leaseMs: number, skip: readonly string[]): Promise<ClaimedLine[]> {
    const rows = await this.q(
      `WITH picked AS (
         SELECT l.batch_id, l.line FROM batch_lines l JOIN batches b ON b.id = l.batch_id
         WHERE b.status = 'in_progress' AND l.state <> 'done'
           AND (l.lease_until IS NULL OR l.lease_until < now())
           AND NOT (coalesce(l.body->>'model', '') = ANY($3::text[]))
         ORDER BY b.seq, l.line LIMIT $1
         FOR UPDATE OF l SKIP LOCKED)
       UPDATE batch_lines l SET state = 'running', attempts = l.attempts + 1,
         lease_until = now() + ($2::integer * interval '1 millisecond')
       FROM picked, batches b
       WHERE l.batch_id = picked.batch_id AND l.line = picked.line AND b.id = l.batch_id
       RETURNING l.batch_id, l.line, l.custom_id, l.body, l.attempts, b.endpoint, b.principal_id, b.api_key_id, b.team_id`,
      [limit, leaseMs, skip],
    );
    return rows.map((r) => ({
      batchId: String(r.batch_id),
      line: Number(r.line),
      customId: String(r.custom_id),
      body: r.body as Record<string, unknown>,
      attempt: Number(r.attempts),
      endpoint: String(r.endpoint) as ClaimedLine['endpoint'],
      principalId: str(r.principal_id),
      apiKeyId: str(r.api_key_id),
      teamId: str(r.team_id),
    }));
  }

  /**
   * Stores a line's result and counts it in its batch, in one statement, only if the claim is still
   * this one's (same attempt, not done): a line is never counted twice. Returns the batch's counters
   * when the result was stored.
   */
  async complete(
    line: ClaimedLine,
    result: { statusCode: number | null; response: unknown; error: unknown; requestId: string },
  ): Promise<{ total: number; done: number } | undefined> {
    const rows = await this.q(
      `WITH done AS (
         UPDATE batch_lines SET state = 'done', lease_until = NULL, status_code = $4, response = $5::jsonb,
           error = $6::jsonb, request_id = $7
         WHERE batch_id = $1 AND line = $2 AND attempts = $3 AND state = 'running'
         RETURNING status_code)
       UPDATE batches SET
         completed = completed + (SELECT count(*) FROM done WHERE status_code BETWEEN 200 AND 299),
         failed = failed + (SELECT count(*) FROM done WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)
       WHERE id = $1 AND EXISTS (SELECT 1 FROM done)
       RETURNING total, completed + failed AS done`,
      [
        line.batchId,
        line.line,
        line.attempt,
        result.statusCode,
        result.response === null ? null : JSON.stringify(result.response),
        result.error === null ? null : JSON.stringify(result.error),
        result.requestId,
      ],
    );
    return rows[0] ? { total: Number(rows[0].total), done: Number(rows[0].done) } : undefined;
  }

  /** Gives a claimed line back (refused by a rate limit): runnable again after `delayMs`. */
  async release(line: ClaimedLine, delayMs: number): Promise<void> {
    await this.q(
      `UPDATE batch_lines SET state = 'pending', lease_until = now() + ($4::integer * interval '1 millisecond')
       WHERE batch_id = $1 AND line = $2 AND attempts = $3 AND state = 'running'`,
      [line.batchId, line.line, line.attempt, delayMs],
    );
  }

  /** Extends the leases of lines this replica is still running (the claim's token must still match). */
  async renew(lines: readonly ClaimedLine[], leaseMs: number): Promise<void> {
    await this.q(
      `UPDATE batch_lines l SET lease_until = now() + ($2::integer * interval '1 millisecond')
       FROM jsonb_to_recordset($1::jsonb) AS r(batch_id text, line integer, attempts integer)
       WHERE l.batch_id = r.batch_id AND l.line = r.line AND l.attempts = r.attempts AND l.state = 'running'`,
      [
        JSON.stringify(lines.map((l) => ({ batch_id: l.batchId, line: l.line, attempts: l.attempt }))),
        leaseMs,
      ],
    );
  }

  /** Whether this replica is the one to log the batch's `decile`-th tenth (once across replicas). */
  async markDecile(batchId: string, decile: number): Promise<boolean> {
    const rows = await this.q(
      `UPDATE batches SET reported_decile = $2 WHERE id = $1 AND reported_decile < $2 RETURNING id`,
      [batchId, decile],
    );
    return rows.length > 0;
  }

  /** Finished lines (or all, with `all`), in line order, a page at a time. */
  async *doneLines(m: EntityManager, batchId: string, all: boolean): AsyncGenerator<DoneLine> {
    const page = 1000;
    for (let after = -1; ;) {
      const rows = await this.q(
        `SELECT line, custom_id, state, status_code, response, error, request_id FROM batch_lines
         WHERE batch_id = $1 AND line > $2 ${all ? '' : `AND state = 'done'`} ORDER BY line LIMIT $3`,
        [batchId, after, page],
        m,
      );
      for (const r of rows) {
        yield {
          line: Number(r.line),
          customId: String(r.custom_id),
          state: String(r.state),
          statusCode: r.status_code === null ? null : Number(r.status_code),
          response: r.response,
          error: (r.error as DoneLine['error']) ?? null,
          requestId: str(r.request_id),
        };
      }
      if (rows.length < page) return;
      after = Number(rows[rows.length - 1].line);
    }
  }

  async insertOutputFile(m: EntityManager, file: Omit<FileRecord, 'createdAt' | 'status'>): Promise<void> {
    await this.q(
      `INSERT INTO openai_files (id, team_id, principal_id, purpose, filename, bytes, lines, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'processed')`,
      [file.id, file.teamId, file.principalId, file.purpose, file.filename, file.bytes, file.lines],
      m,
    );
  }
}
