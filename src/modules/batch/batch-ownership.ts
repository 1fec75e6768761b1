import { Principal } from 'src/common/auth/principal';
import { TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { OwnerScope } from 'src/modules/batch/batch.repository';

/**
 * Files and batches belong to the caller's team (a teamless caller's to itself): its members see and
 * manage them, admins (TenancyPolicy's `tenancy.all`) every team's; anyone else is told they do not exist.
 */
export const BatchOwnership = {
  canSee(actor: Principal, owner: { teamId: string | null; principalId: string | null }): boolean {
    if (TenancyPolicy.isAdmin(actor)) return true;
    return owner.teamId !== null ? owner.teamId === actor.teamId : owner.principalId === actor.id;
  },

  scope(actor: Principal): OwnerScope {
    if (TenancyPolicy.isAdmin(actor)) return 'all';
    return actor.teamId !== null ? { teamId: actor.teamId } : { principalId: actor.id };
  },
};
