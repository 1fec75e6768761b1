import { Injectable, Logger } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { EntityManager } from 'typeorm';
import { AdminActor } from 'src/common/auth/admin-actor';
import { AuditEntry, AuditQuery, AuditRepository, AuditRow } from 'src/modules/audit/audit.repository';

export interface AuditEvent {
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
  /** Team the record belongs to (who may read it); defaults to the actor's team. */
  teamId?: string | null;
}

/** Append-only record of every admin change and every access denial. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');
  /** Requests a denial was recorded for (so a refusal is recorded once). */
  private readonly deniedRequests = new WeakSet<FastifyRequest>();

  constructor(private readonly repository: AuditRepository) {}

  /** An admin change, written in the same transaction as the change itself. */
  async change(request: FastifyRequest, event: AuditEvent, manager: EntityManager): Promise<void> {
    await this.repository.append(entryOf(request, event, 'success'), manager);
  }

  /** An admin change by `actor`, written in the same transaction as the change itself. */
  async changeBy(actor: AdminActor, event: AuditEvent, manager: EntityManager): Promise<void> {
    await this.repository.append(
      {
        actorId: actor.principal.id,
        actorName: actor.principal.name,
        teamId: event.teamId !== undefined ? event.teamId : actor.principal.teamId,
        action: event.action,
        outcome: 'success',
        targetType: event.targetType,
        targetId: event.targetId ?? null,
        before: event.before ?? null,
        after: event.after ?? null,
        requestId: actor.requestId,
        source: actor.ip,
      },
      manager,
    );
  }

  /**
   * Runs an admin change and its audit row in one transaction: `work` makes the change with the
   * transaction's manager and returns its result and what to record. Both commit, or neither.
   */
  write<T>(
    actor: AdminActor,
    work: (manager: EntityManager) => Promise<{ result: T; event: AuditEvent }>,
  ): Promise<T> {
    return this.repository.transaction(async (manager) => {
      const { result, event } = await work(manager);
      await this.changeBy(actor, event, manager);
      return result;
    });
  }

  /** A change the gateway makes by itself (e.g. a rollout step), attributed to `actorName`, in its transaction. */
  async system(actorName: string, event: AuditEvent, manager: EntityManager): Promise<void> {
    await this.repository.append(
      {
        actorId: null,
        actorName,
        teamId: event.teamId ?? null,
        action: event.action,
        outcome: 'success',
        targetType: event.targetType,
        targetId: event.targetId ?? null,
        before: event.before ?? null,
        after: event.after ?? null,
        requestId: null,
        source: null,
      },
      manager,
    );
  }

  /** A denial: never delays or fails the response; a write failure is logged. */
  denied(request: FastifyRequest, event: AuditEvent): void {
    this.deniedRequests.add(request);
    this.repository.append(entryOf(request, event, 'denied')).catch((error: unknown) => {
      this.logger.error(
        `could not record denial ${event.action} (request ${request.id}): ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }

  /**
   * An admin request a service refused with 403 (the ownership model), recorded as a denial unless a
   * guard already recorded one for it (a missing permission): one denial row per refused request.
   */
  recordRefusal(request: FastifyRequest): void {
    if (this.deniedRequests.has(request)) return;
    this.denied(request, {
      action: 'tenancy.authorize',
      targetType: 'admin-route',
      targetId: `${request.method} ${request.routeOptions?.url ?? ''}`.slice(0, 256),
    });
  }

  /** Entries not tied to an admin request (guardrail verdicts), written together. */
  appendBatch(entries: readonly AuditEntry[]): Promise<void> {
    return this.repository.appendMany(entries);
  }

  query(q: AuditQuery): Promise<AuditRow[]> {
    return this.repository.query(q);
  }
}

function entryOf(request: FastifyRequest, event: AuditEvent, outcome: AuditEntry['outcome']): AuditEntry {
  const actor = request.principal;
  return {
    actorId: actor?.id ?? null,
    actorName: actor?.name ?? null,
    teamId: event.teamId !== undefined ? event.teamId : (actor?.teamId ?? null),
    action: event.action,
    outcome,
    targetType: event.targetType,
    targetId: event.targetId ?? null,
    before: event.before ?? null,
    after: event.after ?? null,
    requestId: request.id,
    source: request.ip ?? null,
  };
}
