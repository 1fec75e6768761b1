import { z } from 'zod';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { ConfigEntry, ConfigKind, RawEntry } from 'src/modules/routing/admin/config-entries';
import { ConfigChange } from 'src/modules/routing/admin/config-entry.repository';

/** Revisions are PostgreSQL integers: a larger number is a 400 here, not a database error (500). */
export const RollbackSchema = z.strictObject({ revision: z.number().int().min(1).max(2_147_483_647) });

/** One endpoint or route as the admin API shows it: the gateway.yaml entry and where it is managed. */
export interface ConfigEntryDto {
  kind: ConfigKind;
  name: string;
  /** `file`: declared in gateway.yaml (read-only here); `api`: managed through this API. */
  source: 'file' | 'api';
  /** Current revision number of an API-managed entry; null for file entries. */
  revision: number | null;
  updated_by: string | null;
  updated_at: string | null;
  entry: RawEntry;
}

export interface ConfigRevisionDto {
  revision: number;
  action: string;
  at: string;
  actor: { id: string | null; name: string | null };
  note: string | null;
  before: RawEntry | null;
  after: RawEntry | null;
}

export interface ConfigHistoryDto {
  kind: ConfigKind;
  name: string;
  source: 'file' | 'api' | 'deleted';
  current_revision: number | null;
  revisions: ConfigRevisionDto[];
}

/** The answer to a change: applied (a new revision) or, with `?dry_run=true`, only validated. */
export interface ConfigChangeDto {
  dry_run: boolean;
  kind: ConfigKind;
  name: string;
  action: string;
  /** The new revision; null on a dry run. */
  revision: number | null;
  before: RawEntry | null;
  after: RawEntry | null;
}

export function toEntryDto(entry: ConfigEntry): ConfigEntryDto {
  return {
    kind: entry.kind,
    name: entry.name,
    source: 'api',
    revision: entry.revision,
    updated_by: entry.updatedBy,
    updated_at: entry.updatedAt.toISOString(),
    entry: entry.body,
  };
}

export function toRevisionDto(change: ConfigChange): ConfigRevisionDto {
  return {
    revision: change.revision,
    action: change.action,
    at: change.createdAt.toISOString(),
    actor: { id: change.actorId, name: change.actorName },
    note: change.note,
    before: change.before,
    after: change.after,
  };
}

export const ENTRY_VIEW = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['endpoint', 'route'] },
    name: { type: 'string' },
    source: { type: 'string', enum: ['file', 'api'] },
    revision: { type: 'integer', nullable: true },
    updated_by: { type: 'string', nullable: true },
    updated_at: { type: 'string', format: 'date-time', nullable: true },
    entry: { type: 'object', additionalProperties: true },
  },
};

export const CHANGE_VIEW = {
  type: 'object',
  properties: {
    dry_run: { type: 'boolean' },
    kind: { type: 'string', enum: ['endpoint', 'route'] },
    name: { type: 'string' },
    action: { type: 'string', enum: ['create', 'update', 'delete', 'rollback', 'rollout'] },
    revision: { type: 'integer', nullable: true },
    before: { type: 'object', nullable: true, additionalProperties: true },
    after: { type: 'object', nullable: true, additionalProperties: true },
  },
};

export const HISTORY_VIEW = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['endpoint', 'route'] },
    name: { type: 'string' },
    source: { type: 'string', enum: ['file', 'api', 'deleted'] },
    current_revision: { type: 'integer', nullable: true },
    revisions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          revision: { type: 'integer' },
          action: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
          actor: {
            type: 'object',
            properties: { id: { type: 'string', nullable: true }, name: { type: 'string', nullable: true } },
          },
          note: { type: 'string', nullable: true },
          before: { type: 'object', nullable: true, additionalProperties: true },
          after: { type: 'object', nullable: true, additionalProperties: true },
        },
      },
    },
  },
};

/** `?dry_run=true|false|1|0` (absent: false). */
export class DryRunPipe {
  transform(value: unknown): boolean {
    if (value === undefined || value === '' || value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    throw new GatewayException(400, GatewayErrorCode.InvalidRequest, "'dry_run' must be true or false.", {
      param: 'dry_run',
    });
  }
}
