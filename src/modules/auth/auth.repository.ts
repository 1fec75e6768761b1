import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import {
  ApiKeyRecord,
  GrantRecord,
  PrincipalRecord,
  SubscriptionRecord,
  TeamRecord,
} from 'src/modules/auth/auth.records';

type Row = Record<string, unknown>;

const team = (r: Row): TeamRecord => ({
  id: r.id as string,
  name: r.name as string,
  description: r.description as string,
  createdAt: new Date(r.created_at as string),
});

const principal = (r: Row): PrincipalRecord => ({
  id: r.id as string,
  kind: r.kind as PrincipalRecord['kind'],
  name: r.name as string,
  teamId: (r.team_id as string | null) ?? null,
  roles: r.roles as string[],
  issuer: (r.issuer as string | null) ?? null,
  subject: (r.subject as string | null) ?? null,
  disabled: r.disabled as boolean,
  createdAt: new Date(r.created_at as string),
});

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));

const apiKey = (r: Row): ApiKeyRecord => ({
  id: r.id as string,
  principalId: r.principal_id as string,
  name: r.name as string,
  prefix: r.prefix as string,
  sha256: (r.sha256 as string).trim(),
  permissions: (r.permissions as string[] | null) ?? null,
  endpoints: (r.endpoints as string[] | null) ?? null,
  expiresAt: date(r.expires_at),
  revokedAt: date(r.revoked_at),
  createdAt: new Date(r.created_at as string),
});

const grant = (r: Row): GrantRecord => ({
  id: r.id as string,
  teamId: (r.team_id as string | null) ?? null,
  principalId: (r.principal_id as string | null) ?? null,
  endpointPattern: r.endpoint_pattern as string,
  destinations: (r.destinations as string[] | null) ?? null,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: new Date(r.created_at as string),
});

const subscription = (r: Row): SubscriptionRecord => ({
  id: r.id as string,
  principalId: r.principal_id as string,
  teamId: (r.team_id as string | null) ?? null,
  endpointPattern: r.endpoint_pattern as string,
  reason: r.reason as string,
  status: r.status as SubscriptionRecord['status'],
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: date(r.decided_at),
  decisionNote: (r.decision_note as string | null) ?? null,
  grantId: (r.grant_id as string | null) ?? null,
  createdAt: new Date(r.created_at as string),
});

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** All SQL of identity and access. Reads here feed the in-memory snapshot, never a request. */
@Injectable()
export class AuthRepository {
  constructor(private readonly dataSource: DataSource) {}

  private async q(sql: string, params: unknown[] = [], manager?: EntityManager): Promise<Row[]> {
    const result: unknown = await (manager ?? this.dataSource.manager).query(sql, params);
    // TypeORM answers UPDATE/DELETE … RETURNING with [rows, affectedCount].
    if (
      Array.isArray(result) &&
      result.length === 2 &&
      Array.isArray(result[0]) &&
      typeof result[1] === 'number'
    ) {
      return result[0] as Row[];
    }
    return result as Row[];
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async loadAll(): Promise<{
    teams: TeamRecord[];
    principals: PrincipalRecord[];
    keys: ApiKeyRecord[];
    grants: GrantRecord[];
  }> {
    // One snapshot of a consistent moment: a key never appears without its principal.
    return this.dataSource.transaction('REPEATABLE READ', async (m) => ({
      teams: (await this.q('SELECT * FROM auth_teams', [], m)).map(team),
      principals: (await this.q('SELECT * FROM auth_principals', [], m)).map(principal),
      keys: (await this.q('SELECT * FROM auth_api_keys WHERE revoked_at IS NULL', [], m)).map(apiKey),
      grants: (await this.q('SELECT * FROM auth_access_grants', [], m)).map(grant),
    }));
  }

  // Teams
  async insertTeam(name: string, description: string, m?: EntityManager): Promise<TeamRecord | undefined> {
    const rows = await this.q(
      'INSERT INTO auth_teams (id, name, description) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING *',
      [randomUUID(), name, description],
      m,
    );
    return rows.length ? team(rows[0]) : undefined;
  }

  async findTeamByName(name: string, m?: EntityManager): Promise<TeamRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_teams WHERE name = $1', [name], m);
    return rows.length ? team(rows[0]) : undefined;
  }

  async findTeam(id: string, m?: EntityManager): Promise<TeamRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_teams WHERE id = $1', [id], m);
    return rows.length ? team(rows[0]) : undefined;
  }

  async listTeams(): Promise<TeamRecord[]> {
    return (await this.q('SELECT * FROM auth_teams ORDER BY name')).map(team);
  }

  async updateTeam(id: string, description: string, m?: EntityManager): Promise<TeamRecord | undefined> {
    const rows = await this.q(
      'UPDATE auth_teams SET description = $2 WHERE id = $1 RETURNING *',
      [id, description],
      m,
    );
    return rows.length ? team(rows[0]) : undefined;
  }

  async deleteTeam(id: string, m?: EntityManager): Promise<void> {
    await this.q('DELETE FROM auth_teams WHERE id = $1', [id], m);
  }

  async teamHasMembers(id: string, m?: EntityManager): Promise<boolean> {
    const rows = await this.q('SELECT 1 FROM auth_principals WHERE team_id = $1 LIMIT 1', [id], m);
    return rows.length > 0;
  }

  // Principals
  async insertPrincipal(
    p: Pick<PrincipalRecord, 'kind' | 'name' | 'teamId' | 'roles' | 'issuer' | 'subject'>,
    m?: EntityManager,
  ): Promise<PrincipalRecord | undefined> {
    const rows = await this.q(
      `INSERT INTO auth_principals (id, kind, name, team_id, roles, issuer, subject)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (issuer, subject) DO NOTHING RETURNING *`,
      [randomUUID(), p.kind, p.name, p.teamId, JSON.stringify(p.roles), p.issuer, p.subject],
      m,
    );
    return rows.length ? principal(rows[0]) : undefined;
  }

  async findPrincipal(id: string, m?: EntityManager): Promise<PrincipalRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_principals WHERE id = $1', [id], m);
    return rows.length ? principal(rows[0]) : undefined;
  }

  async findPrincipalBySubject(
    issuer: string,
    subject: string,
    m?: EntityManager,
  ): Promise<PrincipalRecord | undefined> {
    const rows = await this.q(
      'SELECT * FROM auth_principals WHERE issuer = $1 AND subject = $2',
      [issuer, subject],
      m,
    );
    return rows.length ? principal(rows[0]) : undefined;
  }

  async listPrincipals(teamId: string | null | undefined): Promise<PrincipalRecord[]> {
    const rows =
      teamId === undefined
        ? await this.q('SELECT * FROM auth_principals ORDER BY created_at, id')
        : await this.q(
            'SELECT * FROM auth_principals WHERE team_id IS NOT DISTINCT FROM $1 ORDER BY created_at, id',
            [teamId],
          );
    return rows.map(principal);
  }

  async updatePrincipal(
    id: string,
    patch: Partial<Pick<PrincipalRecord, 'name' | 'teamId' | 'roles' | 'disabled'>>,
    m?: EntityManager,
  ): Promise<PrincipalRecord | undefined> {
    const rows = await this.q(
      `UPDATE auth_principals SET
         name = COALESCE($2, name),
         team_id = CASE WHEN $3::boolean THEN $4::uuid ELSE team_id END,
         roles = COALESCE($5::jsonb, roles),
         disabled = COALESCE($6, disabled)
       WHERE id = $1 RETURNING *`,
      [
        id,
        patch.name ?? null,
        patch.teamId !== undefined,
        patch.teamId ?? null,
        json(patch.roles),
        patch.disabled ?? null,
      ],
      m,
    );
    return rows.length ? principal(rows[0]) : undefined;
  }

  async deletePrincipal(id: string, m?: EntityManager): Promise<void> {
    await this.q('DELETE FROM auth_principals WHERE id = $1', [id], m);
  }

  // API keys
  async insertKey(
    k: Omit<ApiKeyRecord, 'id' | 'createdAt' | 'revokedAt'>,
    m?: EntityManager,
  ): Promise<ApiKeyRecord> {
    const rows = await this.q(
      `INSERT INTO auth_api_keys (id, principal_id, name, prefix, sha256, permissions, endpoints, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8) RETURNING *`,
      [
        randomUUID(),
        k.principalId,
        k.name,
        k.prefix,
        k.sha256,
        json(k.permissions),
        json(k.endpoints),
        k.expiresAt,
      ],
      m,
    );
    return apiKey(rows[0]);
  }

  async findKey(id: string, m?: EntityManager): Promise<ApiKeyRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_api_keys WHERE id = $1', [id], m);
    return rows.length ? apiKey(rows[0]) : undefined;
  }

  async findKeyByHash(sha256: string, m?: EntityManager): Promise<ApiKeyRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_api_keys WHERE sha256 = $1', [sha256], m);
    return rows.length ? apiKey(rows[0]) : undefined;
  }

  async listKeys(
    filter: { principalId?: string; teamId?: string | null },
    m?: EntityManager,
  ): Promise<ApiKeyRecord[]> {
    const rows = await this.q(
      `SELECT k.* FROM auth_api_keys k JOIN auth_principals p ON p.id = k.principal_id
       WHERE ($1::uuid IS NULL OR k.principal_id = $1) AND (NOT $2::boolean OR p.team_id IS NOT DISTINCT FROM $3::uuid)
       ORDER BY k.created_at, k.id`,
      [filter.principalId ?? null, filter.teamId !== undefined, filter.teamId ?? null],
      m,
    );
    return rows.map(apiKey);
  }

  async revokeKey(id: string, at: Date, m?: EntityManager): Promise<ApiKeyRecord | undefined> {
    const rows = await this.q(
      'UPDATE auth_api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *',
      [id, at],
      m,
    );
    return rows.length ? apiKey(rows[0]) : undefined;
  }

  async expireKey(id: string, at: Date, rotatedTo: string, m?: EntityManager): Promise<void> {
    await this.q(
      'UPDATE auth_api_keys SET expires_at = LEAST(COALESCE(expires_at, $2), $2), rotated_to = $3 WHERE id = $1',
      [id, at, rotatedTo],
      m,
    );
  }

  // Grants
  async insertGrant(
    g: Pick<GrantRecord, 'teamId' | 'principalId' | 'endpointPattern' | 'destinations' | 'createdBy'>,
    m?: EntityManager,
  ): Promise<GrantRecord> {
    const rows = await this.q(
      `INSERT INTO auth_access_grants (id, team_id, principal_id, endpoint_pattern, destinations, created_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING *`,
      [randomUUID(), g.teamId, g.principalId, g.endpointPattern, json(g.destinations), g.createdBy],
      m,
    );
    return grant(rows[0]);
  }

  async findGrant(id: string, m?: EntityManager): Promise<GrantRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_access_grants WHERE id = $1', [id], m);
    return rows.length ? grant(rows[0]) : undefined;
  }

  async listGrants(): Promise<GrantRecord[]> {
    return (await this.q('SELECT * FROM auth_access_grants ORDER BY created_at, id')).map(grant);
  }

  async deleteGrant(id: string, m?: EntityManager): Promise<void> {
    await this.q('DELETE FROM auth_access_grants WHERE id = $1', [id], m);
  }

  // Subscriptions
  async insertSubscription(
    s: Pick<SubscriptionRecord, 'principalId' | 'teamId' | 'endpointPattern' | 'reason'>,
    m?: EntityManager,
  ): Promise<SubscriptionRecord> {
    const rows = await this.q(
      `INSERT INTO auth_subscriptions (id, principal_id, team_id, endpoint_pattern, reason, status)
       VALUES ($1, $2, $3, $4, $5, 'pending') RETURNING *`,
      [randomUUID(), s.principalId, s.teamId, s.endpointPattern, s.reason],
      m,
    );
    return subscription(rows[0]);
  }

  async findSubscription(id: string, m?: EntityManager): Promise<SubscriptionRecord | undefined> {
    const rows = await this.q('SELECT * FROM auth_subscriptions WHERE id = $1', [id], m);
    return rows.length ? subscription(rows[0]) : undefined;
  }

  async listSubscriptions(filter: {
    teamId?: string | null;
    status?: string;
  }): Promise<SubscriptionRecord[]> {
    const rows = await this.q(
      `SELECT * FROM auth_subscriptions
       WHERE (NOT $1::boolean OR team_id IS NOT DISTINCT FROM $2::uuid) AND ($3::text IS NULL OR status = $3)
       ORDER BY created_at, id`,
      [filter.teamId !== undefined, filter.teamId ?? null, filter.status ?? null],
    );
    return rows.map(subscription);
  }

  /** Decides a pending request exactly once: a concurrent second decision updates nothing. */
  async decideSubscription(
    id: string,
    decision: {
      status: 'approved' | 'rejected';
      decidedBy: string;
      note: string | null;
      grantId: string | null;
    },
    m?: EntityManager,
  ): Promise<SubscriptionRecord | undefined> {
    const rows = await this.q(
      `UPDATE auth_subscriptions SET status = $2, decided_by = $3, decided_at = now(), decision_note = $4, grant_id = $5
       WHERE id = $1 AND status = 'pending' RETURNING *`,
      [id, decision.status, decision.decidedBy, decision.note, decision.grantId],
      m,
    );
    return rows.length ? subscription(rows[0]) : undefined;
  }
}
