import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { isDeepStrictEqual } from 'node:util';
import { EntityManager } from 'typeorm';
import { Principal } from 'src/common/auth/principal';
import { OwnerTeam, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import { ConfigEntryGuard } from 'src/modules/routing/admin/config-entry.guard';
import { ConfigEntryChecks } from 'src/modules/routing/admin/config-entry-checks';
import {
  ConfigEntry,
  ConfigKind,
  literalSecretProblems,
  maskSecrets,
  RawEntry,
} from 'src/modules/routing/admin/config-entries';
import {
  ChangeAction,
  ConfigChange,
  ConfigEntryRepository,
} from 'src/modules/routing/admin/config-entry.repository';
import {
  ConfigChangeDto,
  ConfigEntryDto,
  ConfigHistoryDto,
  RollbackSchema,
  toEntryDto,
  toRevisionDto,
} from 'src/modules/routing/admin/routing-admin.dto';
import { RoutingAdminException } from 'src/modules/routing/admin/routing-admin.exception';
import { RoutingChangeNotifier } from 'src/modules/routing/admin/routing-change.notifier';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { RouteTable } from 'src/modules/routing/route-table';

/**
 * Who makes a change: an admin request (its principal), or the gateway itself (a rollout step).
 * `auditedByCaller`: the caller's own audit row (e.g. the rollout's) records this revision, so the
 * admin request leaves one row, not two.
 */
export type ChangeActor = { request: FastifyRequest; auditedByCaller?: boolean } | { system: string };

export interface PlannedChange {
  /** The entry after the change; null deletes it. */
  next: RawEntry | null;
  action: ChangeAction;
  note: string | null;
}

const NAME = /^[A-Za-z0-9_\-.]{1,256}$/;
const WORD: Record<ConfigKind, string> = { endpoint: 'Endpoint', route: 'Route' };

function isMap(value: unknown): value is RawEntry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Admin use cases for endpoints and routes. Every write runs in one transaction that holds the config
 * write lock, re-reads every API entry, validates the whole resulting config with the YAML loader,
 * stores the entry and its numbered revision, audits it and queues the NOTIFY; after commit this
 * replica rebuilds its RouteTable before answering.
 */
@Injectable()
export class RoutingAdminService {
  constructor(
    private readonly repository: ConfigEntryRepository,
    private readonly routeConfig: RouteConfigService,
    private readonly notifier: RoutingChangeNotifier,
    private readonly audit: AuditService,
    private readonly guard: ConfigEntryGuard,
    private readonly checks: ConfigEntryChecks,
  ) {}

  /** File entries are global; API entries are shown to their team and to admins. */
  async list(kind: ConfigKind, actor: Principal): Promise<ConfigEntryDto[]> {
    const fromFile = this.fileEntries(kind).map((body) => fileDto(kind, body));
    const own = (await this.repository.list()).filter((e) => e.kind === kind);
    const fromApi = TenancyPolicy.visible(actor, own, ownerOf).map(toEntryDto);
    return [...fromFile, ...fromApi];
  }

  async get(kind: ConfigKind, name: string, actor: Principal): Promise<ConfigEntryDto> {
    const file = this.fileEntry(kind, name);
    if (file) return fileDto(kind, file);
    const entry = (await this.repository.list()).find((e) => e.kind === kind && e.name === name);
    if (!entry || !TenancyPolicy.canRead(actor, ownerOf(entry))) {
      throw RoutingAdminException.notFound(`${WORD[kind]} '${name}'`);
    }
    return toEntryDto(entry);
  }

  async history(kind: ConfigKind, name: string, actor: Principal): Promise<ConfigHistoryDto> {
    checkName(name);
    const changes = await this.repository.changes(kind, name);
    const current = (await this.repository.list()).find((e) => e.kind === kind && e.name === name);
    const inFile = this.fileEntry(kind, name) !== undefined;
    const owner = inFile ? null : current ? ownerOf(current) : (changes[0]?.teamId ?? null);
    if ((!inFile && changes.length === 0) || !TenancyPolicy.canRead(actor, owner)) {
      throw RoutingAdminException.notFound(`${WORD[kind]} '${name}'`);
    }
    return {
      kind,
      name,
      source: inFile ? 'file' : current ? 'api' : 'deleted',
      current_revision: current?.revision ?? null,
      revisions: changes.map(toRevisionDto),
    };
  }

  create(
    kind: ConfigKind,
    body: unknown,
    request: FastifyRequest,
    dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    const entry = entryBody(kind, body, undefined);
    const name = entry.name as string;
    return this.write(
      kind,
      name,
      { request },
      dryRun,
      (current) => {
        if (current) {
          throw RoutingAdminException.conflict(
            `${WORD[kind]} '${name}' already exists (revision ${current.revision}); use PUT to change it.`,
          );
        }
        return { next: entry, action: 'create', note: null };
      },
      true,
    );
  }

  replace(
    kind: ConfigKind,
    name: string,
    body: unknown,
    request: FastifyRequest,
    dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    checkName(name);
    const entry = entryBody(kind, body, name);
    return this.write(kind, name, { request }, dryRun, (current) => ({
      next: entry,
      action: current ? 'update' : 'create',
      note: null,
    }));
  }

  remove(kind: ConfigKind, name: string, request: FastifyRequest, dryRun: boolean): Promise<ConfigChangeDto> {
    checkName(name);
    return this.write(kind, name, { request }, dryRun, (current) => {
      if (!current) throw RoutingAdminException.notFound(`${WORD[kind]} '${name}'`);
      return { next: null, action: 'delete', note: null };
    });
  }

  rollback(
    kind: ConfigKind,
    name: string,
    body: unknown,
    request: FastifyRequest,
    dryRun: boolean,
  ): Promise<ConfigChangeDto> {
    checkName(name);
    const parsed = RollbackSchema.safeParse(body ?? {});
    if (!parsed.success) {
      throw RoutingAdminException.invalid(
        'The body must be {"revision": N} with N a revision number (1 or more).',
      );
    }
    const { revision } = parsed.data;
    return this.write(kind, name, { request }, dryRun, async (_current, m) => {
      const target = await this.repository.change(m, kind, name, revision);
      if (!target) throw RoutingAdminException.notFound(`Revision ${revision} of ${kind} '${name}'`);
      return { next: target.after, action: 'rollback', note: `restores revision ${revision}` };
    });
  }

  /**
   * Applies one change inside the caller's transaction (which must hold the write lock): the rollout
   * controller moves weights this way, each step a revision like any admin change.
   */
  async commitIn(
    m: EntityManager,
    kind: ConfigKind,
    name: string,
    plan: (current: ConfigEntry | undefined) => PlannedChange,
    actor: ChangeActor,
  ): Promise<ConfigChange> {
    const entries = await this.repository.list(m);
    const current = entries.find((e) => e.kind === kind && e.name === name);
    // A request (a rollout started or aborted by someone) needs the same ownership as a direct change.
    const owner = await this.ownerFor(m, kind, name, current, actor, false);
    const change = plan(current);
    const table = this.validate(kind, name, entries, current, change.next);
    if ('request' in actor) {
      this.checkIsolation(actorPrincipal(actor), name, owner, current, change.next, table, entries);
      await this.runChecks(m, actorPrincipal(actor), name, owner, current, change.next, table, entries);
    }
    return this.store(m, kind, name, current, change, actor, owner);
  }

  /** Takes the config write lock in the caller's transaction. */
  lock(m: EntityManager): Promise<void> {
    return this.repository.lockForChange(m);
  }

  /** Rebuilds this replica's table after the caller's transaction committed. */
  applied(): Promise<void> {
    return this.routeConfig.refresh();
  }

  /** The owning team of an endpoint or route (null: global), from this replica's applied config. */
  ownerOf(name: string): OwnerTeam {
    return this.isFileManaged(name) ? null : this.routeConfig.ownerOf(name);
  }

  /** A name the file declares (names are unique across endpoints and routes, so either list counts). */
  isFileManaged(name: string): boolean {
    const file = this.routeConfig.file;
    return [...file.endpoints, ...file.routes].some((e) => e.name === name);
  }

  private async write(
    kind: ConfigKind,
    name: string,
    actor: ChangeActor,
    dryRun: boolean,
    plan: (current: ConfigEntry | undefined, m: EntityManager) => PlannedChange | Promise<PlannedChange>,
    creating = false,
  ): Promise<ConfigChangeDto> {
    if (this.isFileManaged(name)) {
      throw RoutingAdminException.conflict(
        `${WORD[kind]} '${name}' is managed by the gateway config file (read-only through the API); edit gateway.yaml to change it.`,
      );
    }
    const result = await this.repository.transaction(async (m) => {
      await this.repository.lockForChange(m);
      if (kind === 'route') {
        const rollout = await this.repository.liveRolloutOn(m, name);
        if (rollout) {
          throw RoutingAdminException.conflict(
            `Route '${name}' is under rollout ${rollout}; pause or abort it (POST /admin/v1/rollouts/${rollout}/abort) before changing the route.`,
          );
        }
      }
      const entries = await this.repository.list(m);
      const current = entries.find((e) => e.kind === kind && e.name === name);
      const owner = await this.ownerFor(m, kind, name, current, actor, creating);
      const change = await plan(current, m);
      if ('request' in actor) {
        await this.guard.check(actor.request.principal, current?.body ?? null, change.next);
      }
      const table = this.validate(kind, name, entries, current, change.next);
      if ('request' in actor) {
        this.checkIsolation(actorPrincipal(actor), name, owner, current, change.next, table, entries);
        await this.runChecks(m, actorPrincipal(actor), name, owner, current, change.next, table, entries);
      }
      const before = current?.body ?? null;
      if (dryRun) {
        return {
          dry_run: true,
          kind,
          name,
          action: change.action,
          revision: null,
          before,
          after: change.next,
        };
      }
      const stored = await this.store(m, kind, name, current, change, actor, owner);
      return {
        dry_run: false,
        kind,
        name,
        action: change.action,
        revision: stored.revision,
        before,
        after: change.next,
      };
    });
    if (!dryRun) await this.routeConfig.refresh();
    return result;
  }

  private validate(
    kind: ConfigKind,
    name: string,
    entries: readonly ConfigEntry[],
    current: ConfigEntry | undefined,
    next: RawEntry | null,
  ): RouteTable {
    const others = entries.filter((e) => e !== current);
    const nextEntries =
      next === null
        ? others
        : [...others, { kind, name, body: next, revision: 0, updatedBy: null, updatedAt: new Date() }].sort(
            (a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
          );
    const composition = this.routeConfig.compose(nextEntries);
    if (!composition.table) {
      const what = next === null ? `Deleting ${kind} '${name}'` : `${WORD[kind]} '${name}'`;
      throw RoutingAdminException.rejected(
        next === null ? `${what} would leave a config that` : what,
        composition.problems,
      );
    }
    return composition.table;
  }

  /**
   * The owner of the entry a request changes, after checking the caller may change it: an existing
   * (or deleted, for a rollback) entry keeps its team; a new one belongs to the caller's team.
   */
  private async ownerFor(
    m: EntityManager,
    kind: ConfigKind,
    name: string,
    current: ConfigEntry | undefined,
    actor: ChangeActor,
    creating: boolean,
  ): Promise<OwnerTeam> {
    const existing = current ? ownerOf(current) : await this.repository.lastOwner(m, kind, name);
    if (!('request' in actor)) return existing ?? null;
    const principal = actorPrincipal(actor);
    if (existing === undefined) return TenancyPolicy.ownerForNew(principal);
    if (creating && current) {
      // The name space is shared (names route requests), so a taken name says so, whoever owns it.
      throw RoutingAdminException.conflict(`${WORD[kind]} '${name}' already exists; use PUT to change it.`);
    }
    TenancyPolicy.assertChange(principal, existing, `${kind} '${name}'`);
    return existing;
  }

  /**
   * Settings that reach beyond the owner's own tenancy are an admin's: turning guardrails off or
   * changing them without `moderation.admin`, a cache shared across teams, and a route or fallback
   * sending traffic to another team's endpoint. The checks other modules registered follow (runChecks).
   */
  private checkIsolation(
    principal: Principal,
    name: string,
    owner: OwnerTeam,
    current: ConfigEntry | undefined,
    next: RawEntry | null,
    table: RouteTable,
    entries: readonly ConfigEntry[],
  ): void {
    if (next === null || TenancyPolicy.isAdmin(principal)) return;
    const moderation = extension(next, 'moderation');
    if (!isDeepStrictEqual(moderation, current ? extension(current.body, 'moderation') : undefined)) {
      if (moderation === 'none' || moderation === false) {
        TenancyPolicy.assertAdminOnly(principal, "turning guardrails off ('gatehouse.moderation: none')");
      }
      if (!principal.permissions.has('moderation.admin')) {
        throw RoutingAdminException.forbidden(
          "Changing an endpoint's guardrails ('gatehouse.moderation') needs the 'moderation.admin' permission.",
        );
      }
    }
    const cache = extension(next, 'cache');
    if (isMap(cache) && cache.scope === 'global') {
      TenancyPolicy.assertAdminOnly(principal, "a cache shared by every team ('scope: global')");
    }
    const routed = table.get(name);
    const targets = new Set<string>();
    if (routed?.kind === 'route') {
      for (const d of routed.destinations) targets.add(d.endpoint.name);
      for (const rule of routed.strategy?.rules ?? []) targets.add(rule.endpoint.name);
    }
    for (const f of routed?.fallbacks ?? []) targets.add(f.name);
    for (const target of targets) {
      const entry = entries.find((e) => e.kind === 'endpoint' && e.name === target);
      const targetOwner = entry ? ownerOf(entry) : null;
      if (targetOwner !== null && targetOwner !== owner) {
        TenancyPolicy.assertAdminOnly(principal, `sending traffic to another team's endpoint ('${target}')`);
      }
    }
  }

  /** The isolation checks other modules registered (see ConfigEntryChecks). */
  private runChecks(
    m: EntityManager,
    principal: Principal,
    name: string,
    owner: OwnerTeam,
    current: ConfigEntry | undefined,
    next: RawEntry | null,
    table: RouteTable,
    entries: readonly ConfigEntry[],
  ): Promise<void> {
    if (next === null) return Promise.resolve();
    const block = (entry: RawEntry | undefined) => (isMap(entry?.gatehouse) ? entry.gatehouse : undefined);
    return this.checks.run({
      principal,
      name,
      owner,
      before: block(current?.body),
      after: block(next),
      next,
      manager: m,
      endpointOwner: (endpoint) => {
        if (table.get(endpoint) === undefined) return undefined;
        const entry = entries.find((e) => e.kind === 'endpoint' && e.name === endpoint);
        return entry ? ownerOf(entry) : null;
      },
    });
  }

  private async store(
    m: EntityManager,
    kind: ConfigKind,
    name: string,
    current: ConfigEntry | undefined,
    change: PlannedChange,
    actor: ChangeActor,
    owner: OwnerTeam,
  ): Promise<ConfigChange> {
    const revision = await this.repository.nextRevision(m, kind, name);
    const principal = 'request' in actor ? actor.request.principal : undefined;
    const actorName = 'request' in actor ? (principal?.name ?? null) : actor.system;
    if (change.next === null) {
      await this.repository.remove(m, kind, name);
    } else {
      await this.repository.save(m, {
        kind,
        name,
        body: change.next,
        revision,
        updatedBy: actorName,
        teamId: owner,
      });
    }
    const stored = await this.repository.appendChange(m, {
      kind,
      name,
      revision,
      action: change.action,
      before: current?.body ?? null,
      after: change.next,
      actorId: principal?.id ?? null,
      actorName,
      note: change.note,
      teamId: owner,
    });
    const event = {
      action: `routing.${kind}.${change.action}`,
      targetType: `routing.${kind}`,
      targetId: name,
      teamId: owner,
      before: current ? { revision: current.revision, entry: current.body } : null,
      after: { revision, entry: change.next, ...(change.note ? { note: change.note } : {}) },
    };
    if (!('request' in actor)) await this.audit.system(actor.system, event, m);
    else if (!actor.auditedByCaller) await this.audit.change(actor.request, event, m);
    await this.notifier.publish(m);
    return stored;
  }

  private fileEntries(kind: ConfigKind): RawEntry[] {
    const file = this.routeConfig.file;
    return kind === 'endpoint' ? file.endpoints : file.routes;
  }

  private fileEntry(kind: ConfigKind, name: string): RawEntry | undefined {
    return this.fileEntries(kind).find((e) => e.name === name);
  }
}

function ownerOf(entry: ConfigEntry): OwnerTeam {
  return entry.teamId ?? null;
}

function actorPrincipal(actor: { request: FastifyRequest }): Principal {
  const principal = actor.request.principal;
  if (!principal) throw RoutingAdminException.forbidden('Authentication required.');
  return principal;
}

/** A `gatehouse:` extension key of an entry. */
function extension(entry: RawEntry, key: string): unknown {
  const gatehouse = entry.gatehouse;
  return isMap(gatehouse) ? gatehouse[key] : undefined;
}

function fileDto(kind: ConfigKind, body: RawEntry): ConfigEntryDto {
  return {
    kind,
    name: typeof body.name === 'string' ? body.name : '',
    source: 'file',
    revision: null,
    updated_by: null,
    updated_at: null,
    entry: maskSecrets(body),
  };
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw RoutingAdminException.invalid(
      `'${name.slice(0, 64)}' is not a valid name: letters, digits, '-', '_' and '.' only (at most 256).`,
    );
  }
}

/** The request body as a gateway.yaml entry: a JSON object whose `name` is the path's (filled in if absent). */
function entryBody(kind: ConfigKind, body: unknown, pathName: string | undefined): RawEntry {
  if (!isMap(body)) {
    throw RoutingAdminException.invalid(
      `The body must be one gateway.yaml ${kind === 'endpoint' ? "'endpoints'" : "'routes'"} entry as a JSON object.`,
    );
  }
  const entry: RawEntry = { ...body };
  if (pathName !== undefined) {
    if (entry.name !== undefined && entry.name !== pathName) {
      throw RoutingAdminException.invalid(
        `The body's name '${JSON.stringify(entry.name).slice(0, 64)}' differs from the name in the path '${pathName}'.`,
        'name',
      );
    }
    entry.name = pathName;
  }
  if (typeof entry.name !== 'string') throw RoutingAdminException.invalid("'name' is required.", 'name');
  checkName(entry.name);
  const problems = literalSecretProblems(entry);
  if (problems.length > 0) throw RoutingAdminException.rejected(`${WORD[kind]} '${entry.name}'`, problems);
  return entry;
}
