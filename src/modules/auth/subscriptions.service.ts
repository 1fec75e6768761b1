import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from 'src/modules/audit/audit.service';
import { actorOf, seesTeam, teamFilter } from 'src/modules/auth/actor';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import {
  DecideSubscriptionDto,
  grantDto,
  RequestSubscriptionDto,
  subscriptionDto,
} from 'src/modules/auth/dto/admin.dto';

/**
 * Subscription approval: a developer asks for an endpoint, the request stays pending until an admin
 * approves (which creates the access grant for the requester's team, or the requester when teamless)
 * or rejects it. Each step is audited; a request is decided once.
 */
@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly repository: AuthRepository,
    private readonly snapshot: AuthSnapshotService,
    private readonly audit: AuditService,
  ) {}

  async request(request: FastifyRequest, dto: z.infer<typeof RequestSubscriptionDto>) {
    const actor = actorOf(request);
    const created = await this.repository.transaction(async (m) => {
      const subscription = await this.repository.insertSubscription(
        {
          principalId: actor.id,
          teamId: actor.teamId,
          endpointPattern: dto.endpointPattern,
          reason: dto.reason,
        },
        m,
      );
      await this.audit.change(
        request,
        {
          action: 'subscription.request',
          targetType: 'subscription',
          targetId: subscription.id,
          after: subscriptionDto(subscription),
          teamId: actor.teamId,
        },
        m,
      );
      return subscription;
    });
    return subscriptionDto(created);
  }

  async list(request: FastifyRequest, status: string | undefined) {
    const actor = actorOf(request);
    const all = await this.repository.listSubscriptions({ teamId: teamFilter(actor), status });
    return all.map(subscriptionDto);
  }

  async get(request: FastifyRequest, id: string) {
    const subscription = await this.repository.findSubscription(id);
    const actor = actorOf(request);
    if (!subscription || (subscription.principalId !== actor.id && !seesTeam(actor, subscription.teamId))) {
      throw AuthErrors.notFound('Subscription');
    }
    return subscriptionDto(subscription);
  }

  /** The grants approved requests produced (for whoever retires what they were filed for). */
  async grantIdsOf(ids: readonly string[]): Promise<string[]> {
    const found = await Promise.all(ids.map((id) => this.repository.findSubscription(id)));
    return found.flatMap((s) => (s?.status === 'approved' && s.grantId ? [s.grantId] : []));
  }

  async approve(request: FastifyRequest, id: string, dto: z.infer<typeof DecideSubscriptionDto>) {
    const actor = actorOf(request);
    const result = await this.repository.transaction(async (m) => {
      const pending = await this.pending(id, m);
      const grant = await this.repository.insertGrant(
        {
          teamId: pending.teamId,
          principalId: pending.teamId ? null : pending.principalId,
          endpointPattern: pending.endpointPattern,
          destinations: null,
          createdBy: actor.id,
        },
        m,
      );
      const decided = await this.repository.decideSubscription(
        id,
        { status: 'approved', decidedBy: actor.id, note: dto.note ?? null, grantId: grant.id },
        m,
      );
      if (!decided) throw AuthErrors.conflict('The subscription request was already decided.');
      await this.audit.change(
        request,
        {
          action: 'subscription.approve',
          targetType: 'subscription',
          targetId: id,
          before: subscriptionDto(pending),
          after: { ...subscriptionDto(decided), grant: grantDto(grant) },
          teamId: pending.teamId,
        },
        m,
      );
      return decided;
    });
    await this.snapshot.changed();
    return subscriptionDto(result);
  }

  async reject(request: FastifyRequest, id: string, dto: z.infer<typeof DecideSubscriptionDto>) {
    const actor = actorOf(request);
    const result = await this.repository.transaction(async (m) => {
      const pending = await this.pending(id, m);
      const decided = await this.repository.decideSubscription(
        id,
        { status: 'rejected', decidedBy: actor.id, note: dto.note ?? null, grantId: null },
        m,
      );
      if (!decided) throw AuthErrors.conflict('The subscription request was already decided.');
      await this.audit.change(
        request,
        {
          action: 'subscription.reject',
          targetType: 'subscription',
          targetId: id,
          before: subscriptionDto(pending),
          after: subscriptionDto(decided),
          teamId: pending.teamId,
        },
        m,
      );
      return decided;
    });
    return subscriptionDto(result);
  }

  private async pending(id: string, m: Parameters<AuthRepository['findSubscription']>[1]) {
    const subscription = await this.repository.findSubscription(id, m);
    if (!subscription) throw AuthErrors.notFound('Subscription');
    if (subscription.status !== 'pending')
      throw AuthErrors.conflict(`The subscription request is already ${subscription.status}.`);
    return subscription;
  }
}
