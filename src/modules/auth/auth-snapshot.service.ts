import { Injectable, Logger } from '@nestjs/common';
import { Principal } from 'src/common/auth/principal';
import { permissionsOf } from 'src/modules/auth/permissions';
import { ApiKeyRecord, GrantRecord, PrincipalRecord, TeamRecord } from 'src/modules/auth/auth.records';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthInvalidationService } from 'src/modules/auth/auth-invalidation.service';

export interface KeyEntry {
  key: ApiKeyRecord;
  principal: Principal;
}

interface Snapshot {
  keysByHash: Map<string, KeyEntry>;
  keysById: Map<string, KeyEntry>;
  principals: Map<string, PrincipalRecord>;
  principalsBySubject: Map<string, PrincipalRecord>;
  teamsById: Map<string, TeamRecord>;
  teamsByName: Map<string, TeamRecord>;
  grants: GrantRecord[];
}

const EMPTY: Snapshot = {
  keysByHash: new Map(),
  keysById: new Map(),
  principals: new Map(),
  principalsBySubject: new Map(),
  teamsById: new Map(),
  teamsByName: new Map(),
  grants: [],
};

export const subjectKey = (issuer: string, subject: string): string => `${issuer}\n${subject}`;

/** The caller as the request sees it: roles → permissions, narrowed by the key's own scope. */
export function toPrincipal(
  record: PrincipalRecord,
  key?: ApiKeyRecord,
  extraRoles: string[] = [],
): Principal {
  const roles = [...new Set([...record.roles, ...extraRoles])];
  let permissions = permissionsOf(roles);
  if (key?.permissions) {
    const allowed = new Set(key.permissions);
    permissions = new Set([...permissions].filter((p) => allowed.has(p)));
  }
  return {
    id: record.id,
    kind: record.kind,
    name: record.name,
    teamId: record.teamId,
    roles,
    permissions,
    apiKeyId: key?.id ?? null,
    apiKeyEndpoints: key?.endpoints ?? null,
  };
}

/**
 * Identity data held in memory: the warm request path authenticates and authorises without a database
 * read. Rebuilt whole on every change event (changes are admin-rate, not request-rate) and swapped
 * atomically; a rebuild requested while one runs is coalesced into one more.
 */
@Injectable()
export class AuthSnapshotService {
  private readonly logger = new Logger('AuthSnapshot');
  private current: Snapshot = EMPTY;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly repository: AuthRepository,
    private readonly invalidation: AuthInvalidationService,
  ) {}

  async start(): Promise<void> {
    await this.invalidation.subscribe(() => {
      void this.reload().catch((error: unknown) =>
        this.logger.error(
          `snapshot reload failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    });
    await this.reload();
  }

  /** After this replica's own change: reload here before answering, and tell the others. */
  async changed(): Promise<void> {
    await this.invalidation.publish();
    await this.reload();
  }

  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          this.current = build(await this.repository.loadAll());
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  keyByHash(sha256: string): KeyEntry | undefined {
    return this.current.keysByHash.get(sha256);
  }

  /** A live key by its id (work submitted with it earlier, such as a batch, runs as its principal). */
  keyById(id: string): KeyEntry | undefined {
    return this.current.keysById.get(id);
  }

  principal(id: string): PrincipalRecord | undefined {
    return this.current.principals.get(id);
  }

  principalBySubject(issuer: string, subject: string): PrincipalRecord | undefined {
    return this.current.principalsBySubject.get(subjectKey(issuer, subject));
  }

  teamByName(name: string): TeamRecord | undefined {
    return this.current.teamsByName.get(name);
  }

  team(id: string): TeamRecord | undefined {
    return this.current.teamsById.get(id);
  }

  grants(): readonly GrantRecord[] {
    return this.current.grants;
  }
}

function build(data: Awaited<ReturnType<AuthRepository['loadAll']>>): Snapshot {
  const principals = new Map(data.principals.map((p) => [p.id, p]));
  const principalsBySubject = new Map<string, PrincipalRecord>();
  for (const p of data.principals) {
    if (p.issuer && p.subject) principalsBySubject.set(subjectKey(p.issuer, p.subject), p);
  }
  const keysByHash = new Map<string, KeyEntry>();
  for (const key of data.keys) {
    const owner = principals.get(key.principalId);
    if (!owner || owner.disabled) continue;
    keysByHash.set(key.sha256, { key, principal: toPrincipal(owner, key) });
  }
  return {
    keysByHash,
    keysById: new Map([...keysByHash.values()].map((entry) => [entry.key.id, entry])),
    principals,
    principalsBySubject,
    teamsById: new Map(data.teams.map((t) => [t.id, t])),
    teamsByName: new Map(data.teams.map((t) => [t.name, t])),
    grants: data.grants,
  };
}
