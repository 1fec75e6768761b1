import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Principal } from 'src/common/auth/principal';
import { OwnerTeam } from 'src/common/auth/tenancy.policy';
import { RawEntry } from 'src/modules/routing/admin/config-entries';

/** What a check sees of an admin-API change to an endpoint or route. */
export interface ConfigEntryChange {
  principal: Principal;
  name: string;
  /** The team that owns the entry after the change (null: global). */
  owner: OwnerTeam;
  /** The entry's `gatehouse` block before the change (undefined: new, or it had none). */
  before: Readonly<Record<string, unknown>> | undefined;
  /** The entry's `gatehouse` block after the change (undefined: none). */
  after: Readonly<Record<string, unknown>> | undefined;
  next: RawEntry;
  /**
   * The owning team of an endpoint or route in the config as it would be after the change (null:
   * global, a file or registry entry); undefined when there is no such name.
   */
  endpointOwner(name: string): OwnerTeam | undefined;
  /**
   * The write's transaction (it holds the config lock): a check that reads its own tables must read
   * through it — the embedded database has one connection, which the transaction holds.
   */
  manager: EntityManager;
}

/** Throws (a 403 or 400 from the owning module) to refuse the change; may read its own tables. */
export type ConfigEntryCheck = (change: ConfigEntryChange) => void | Promise<void>;

/**
 * Isolation checks other modules own: an endpoint's `gatehouse` block names objects of theirs (prompt
 * templates, knowledge bases), whose owners routing does not know. Each module registers its check at
 * start-up; every non-admin write through the endpoints and routes admin API runs all of them inside
 * the write's transaction, after the YAML loader accepted the entry.
 */
@Injectable()
export class ConfigEntryChecks {
  private readonly checks: { owner: string; check: ConfigEntryCheck }[] = [];

  register(owner: string, check: ConfigEntryCheck): void {
    this.checks.push({ owner, check });
  }

  /** Names of the modules with a registered check (for start-up and tests). */
  get owners(): string[] {
    return this.checks.map((c) => c.owner);
  }

  async run(change: ConfigEntryChange): Promise<void> {
    for (const { check } of this.checks) await check(change);
  }
}
