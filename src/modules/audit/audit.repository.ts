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

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/** Inserts and reads only: the table refuses UPDATE and DELETE (trigger in the migration). */
@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  async append(entry: AuditEntry, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `INSERT INTO audit_log (actor_id, actor_name, team_id, action, outcome, target_type, target_id, before, after, request_id, source)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11)`,
      [
        entry.actorId,
        entry.actorName,
        entry.teamId,
        entry.action,
        entry.outcome,
        entry.targetType,
        entry.targetId,
        json(entry.before),
        json(entry.after),
        entry.requestId,
        entry.source,
      ],
    );
  }

  /** Several entries in one statement (batched writers: guardrail verdicts). */
  async appendMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const params: unknown[] = [];
    const rows = entries.map((entry) => {
      const base = params.length;
      params.push(
        entry.actorId,
        entry.actorName,
        entry.teamId,
        entry.action,
        entry.outcome,
        entry.targetType,
        entry.targetId,
        json(entry.before),
        json(entry.after),
        entry.requestId,
        entry.source,
      );
      const p = (i: number) => `$${base + i}`;
      return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}::jsonb, ${p(9)}::jsonb, ${p(10)}, ${p(11)})`;
    });
    await this.dataSource.query(
      `INSERT INTO audit_log (actor_id, actor_name, team_id, action, outcome, target_type, target_id, before, after, request_id, source)
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
      requestId: (r.request_id as string | null) ?? null,
      source: (r.source as string | null) ?? null,
    }));
  }
}
