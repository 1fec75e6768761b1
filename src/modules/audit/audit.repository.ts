import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface AuditEntry {
  actorId: string | null;
  actorName: string | null;
  teamId: string | null;
  action: string;
  outcome: 'success' | 'denied';
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
  source: string | null;
}

export interface AuditRow extends AuditEntry {
  id: string;
  at: Date;
  /** SHA-256 of the canonical JSON of the (redacted) before/after snapshot. */
  beforeHash: string | null;
  afterHash: string | null;
}

export interface AuditQuery {
  teamId?: string | null;
  actorId?: string;
  action?: string;
  outcome?: 'success' | 'denied';
  targetType?: string;
  targetId?: string;
  requestId?: string;
  since?: Date;
  until?: Date;
  /** Entries older than this id (keyset pagination, newest first). */
  beforeId?: string;
  limit: number;
}

/** Field names whose values are secrets: never stored in the audit log (references such as `$secret:x` are kept). */
const SECRET_FIELD =
  /(secret|password|passwd|token|api_?key|webhook_?url|authorization|private_?key|credential)/i;

/** A before/after snapshot with secret values replaced by a marker. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] =
      // Secrets are strings: counts such as `max_tokens` stay readable, references (`$secret:x`) too.
      SECRET_FIELD.test(key) && typeof inner === 'string' && !inner.startsWith('$')
        ? '[redacted]'
        : redactSecrets(inner, depth + 1);
  }
  return out;
}

/** JSON with object keys sorted, so equal snapshots hash equally. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : inner,
  );
}

interface Snapshot {
  json: string | null;
  hash: string | null;
}

/** The stored form of a before/after value: redacted JSON and the SHA-256 of its canonical form. */
function snapshot(value: unknown): Snapshot {
  if (value === undefined || value === null) return { json: null, hash: null };
  const redacted = redactSecrets(value);
  return {
    json: JSON.stringify(redacted),
    hash: createHash('sha256').update(canonical(redacted)).digest('hex'),
  };
}

function rowParams(entry: AuditEntry): unknown[] {
  const before = snapshot(entry.before);
  const after = snapshot(entry.after);
  return [
    entry.actorId,
    entry.actorName,
    entry.teamId,
    entry.action,
    entry.outcome,
    entry.targetType,
    entry.targetId,
    before.json,
    after.json,
    entry.requestId,
    entry.source,
    before.hash,
    after.hash,
  ];
}

const COLUMNS =
  'actor_id, actor_name, team_id, action, outcome, target_type, target_id, before, after, request_id, source, before_hash, after_hash';

/** Inserts and reads only: the table refuses UPDATE and DELETE (trigger in the migration). */
@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async append(entry: AuditEntry, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `INSERT INTO audit_log (${COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13)`,
      rowParams(entry),
    );
  }

  /** Several entries in one statement (batched writers: guardrail verdicts). */
  async appendMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const params: unknown[] = [];
    const rows = entries.map((entry) => {
      const base = params.length;
      params.push(...rowParams(entry));
      const p = (i: number) => `$${base + i}`;
      return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}::jsonb, ${p(9)}::jsonb, ${p(10)}, ${p(11)}, ${p(12)}, ${p(13)})`;
    });
    await this.dataSource.query(
      `INSERT INTO audit_log (${COLUMNS})
       VALUES ${rows.join(', ')}`,
      params,
    );
  }

  async query(q: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.teamId !== undefined) add('team_id IS NOT DISTINCT FROM ?::uuid', q.teamId);
    if (q.actorId) add('actor_id = ?::uuid', q.actorId);
    if (q.action) add('action = ?', q.action);
    if (q.outcome) add('outcome = ?', q.outcome);
    if (q.targetType) add('target_type = ?', q.targetType);
    if (q.targetId) add('target_id = ?', q.targetId);
    if (q.requestId) add('request_id = ?', q.requestId);
    if (q.since) add('at >= ?', q.since);
    if (q.until) add('at < ?', q.until);
    if (q.beforeId) add('id < ?::bigint', q.beforeId);
    params.push(q.limit);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      id: String(r.id),
      at: new Date(r.at as string),
      actorId: (r.actor_id as string | null) ?? null,
      actorName: (r.actor_name as string | null) ?? null,
      teamId: (r.team_id as string | null) ?? null,
      action: r.action as string,
      outcome: r.outcome as AuditEntry['outcome'],
      targetType: r.target_type as string,
      targetId: (r.target_id as string | null) ?? null,
      before: r.before ?? null,
      after: r.after ?? null,
      beforeHash: (r.before_hash as string | null) ?? null,
      afterHash: (r.after_hash as string | null) ?? null,
      requestId: (r.request_id as string | null) ?? null,
      source: (r.source as string | null) ?? null,
    }));
  }
}
