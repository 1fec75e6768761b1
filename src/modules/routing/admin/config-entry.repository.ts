import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConfigEntry, ConfigKind, RawEntry } from 'src/modules/routing/admin/config-entries';

export type ChangeAction = 'create' | 'update' | 'delete' | 'rollback' | 'rollout';

export interface ConfigChange {
  id: string;
  kind: ConfigKind;
  name: string;
  revision: number;
  action: ChangeAction;
  before: RawEntry | null;
  after: RawEntry | null;
  actorId: string | null;
  actorName: string | null;
  note: string | null;
  /** The owning team of the entry this change produced (or deleted). */
  teamId: string | null;
  createdAt: Date;
}

export type NewChange = Omit<ConfigChange, 'id' | 'createdAt'>;

/** Arbitrary constant shared by every replica: "gatehouse config writes". */
const CONFIG_WRITE_LOCK = 7_402_118_512;

interface EntryRow {
  kind: ConfigKind;
  name: string;
  body: RawEntry;
  revision: number;
  updated_by: string | null;
  updated_at: Date;
  team_id: string | null;
}

interface ChangeRow {
  id: string;
  kind: ConfigKind;
  name: string;
  revision: number;
  action: ChangeAction;
  before: RawEntry | null;
  after: RawEntry | null;
  actor_id: string | null;
  actor_name: string | null;
  note: string | null;
  team_id: string | null;
  created_at: Date;
}

const toEntry = (r: EntryRow): ConfigEntry => ({
  kind: r.kind,
  name: r.name,
  body: r.body,
  revision: r.revision,
  updatedBy: r.updated_by,
  updatedAt: new Date(r.updated_at),
  teamId: r.team_id,
});

const toChange = (r: ChangeRow): ConfigChange => ({
  id: String(r.id),
  kind: r.kind,
  name: r.name,
  revision: r.revision,
  action: r.action,
  before: r.before,
  after: r.after,
  actorId: r.actor_id,
  actorName: r.actor_name,
  note: r.note,
  teamId: r.team_id,
  createdAt: new Date(r.created_at),
});

/** API-managed endpoints and routes (`gateway_config_entries`) and their history (`gateway_config_changes`). */
@Injectable()
export class ConfigEntryRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** Serialises config writes across replicas: each change is validated against the whole config. */
  async lockForChange(m: EntityManager): Promise<void> {
    await m.query('SELECT pg_advisory_xact_lock($1)', [CONFIG_WRITE_LOCK]);
  }

  async list(m: EntityManager = this.dataSource.manager): Promise<ConfigEntry[]> {
    const rows = await m.query<EntryRow[]>(
      'SELECT kind, name, body, revision, updated_by, updated_at, team_id FROM gateway_config_entries ORDER BY kind, name',
    );
    return rows.map(toEntry);
  }

  /** The id of the newest change: replicas compare it to know whether they are current. */
  async latestChangeId(): Promise<string> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      'SELECT COALESCE(MAX(id), 0)::text AS id FROM gateway_config_changes',
    );
    return rows[0].id;
  }

  async nextRevision(m: EntityManager, kind: ConfigKind, name: string): Promise<number> {
    const rows = await m.query<{ next: number | string }[]>(
      'SELECT COALESCE(MAX(revision), 0) + 1 AS next FROM gateway_config_changes WHERE kind = $1 AND name = $2',
      [kind, name],
    );
    return Number(rows[0].next);
  }

  async save(m: EntityManager, entry: Omit<ConfigEntry, 'updatedAt'>): Promise<void> {
    await m.query(
      `INSERT INTO gateway_config_entries (kind, name, body, revision, updated_by, updated_at, team_id)
       VALUES ($1, $2, $3::jsonb, $4, $5, now(), $6)
       ON CONFLICT (kind, name) DO UPDATE SET body = EXCLUDED.body, revision = EXCLUDED.revision,
         updated_by = EXCLUDED.updated_by, updated_at = now(), team_id = EXCLUDED.team_id`,
      [
        entry.kind,
        entry.name,
        JSON.stringify(entry.body),
        entry.revision,
        entry.updatedBy,
        entry.teamId ?? null,
      ],
    );
  }

  async remove(m: EntityManager, kind: ConfigKind, name: string): Promise<void> {
    await m.query('DELETE FROM gateway_config_entries WHERE kind = $1 AND name = $2', [kind, name]);
  }

  async appendChange(m: EntityManager, change: NewChange): Promise<ConfigChange> {
    const rows = await m.query<ChangeRow[]>(
      `INSERT INTO gateway_config_changes (kind, name, revision, action, before, after, actor_id, actor_name, note, team_id)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10) RETURNING *`,
      [
        change.kind,
        change.name,
        change.revision,
        change.action,
        change.before === null ? null : JSON.stringify(change.before),
        change.after === null ? null : JSON.stringify(change.after),
        change.actorId,
        change.actorName,
        change.note,
        change.teamId,
      ],
    );
    return toChange(rows[0]);
  }

  async changes(
    kind: ConfigKind,
    name: string,
    m: EntityManager = this.dataSource.manager,
  ): Promise<ConfigChange[]> {
    const rows = await m.query<ChangeRow[]>(
      'SELECT * FROM gateway_config_changes WHERE kind = $1 AND name = $2 ORDER BY revision DESC',
      [kind, name],
    );
    return rows.map(toChange);
  }

  async change(
    m: EntityManager,
    kind: ConfigKind,
    name: string,
    revision: number,
  ): Promise<ConfigChange | undefined> {
    const rows = await m.query<ChangeRow[]>(
      'SELECT * FROM gateway_config_changes WHERE kind = $1 AND name = $2 AND revision = $3',
      [kind, name, revision],
    );
    return rows[0] ? toChange(rows[0]) : undefined;
  }

  /** The owning team of the newest change of a (possibly deleted) entry; undefined = never existed. */
  async lastOwner(m: EntityManager, kind: ConfigKind, name: string): Promise<string | null | undefined> {
    const rows = await m.query<{ team_id: string | null }[]>(
      'SELECT team_id FROM gateway_config_changes WHERE kind = $1 AND name = $2 ORDER BY revision DESC LIMIT 1',
      [kind, name],
    );
    return rows.length === 0 ? undefined : rows[0].team_id;
  }

  /** The id of the running or paused rollout that owns this route's weights, if any. */
  async liveRolloutOn(m: EntityManager, route: string): Promise<string | undefined> {
    const rows = await m.query<{ id: string }[]>(
      `SELECT id FROM gateway_rollouts WHERE route = $1 AND state IN ('running', 'paused')`,
      [route],
    );
    return rows[0]?.id;
  }
}
