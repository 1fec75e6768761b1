import { Principal } from 'src/common/auth/principal';
import { ConversationOwner } from 'src/modules/conversations/conversation.repository';

/**
 * Conversations belong to the caller's team when it has one (teammates share them), else to the
 * principal; callers without a principal (before authentication is enabled) share one anonymous scope.
 */
export function ownerOf(principal: Principal | undefined): ConversationOwner {
  if (!principal) return { scope: 'anonymous', principalId: null, teamId: null };
  if (principal.teamId)
    return { scope: `team:${principal.teamId}`, principalId: principal.id, teamId: principal.teamId };
  return { scope: `principal:${principal.id}`, principalId: principal.id, teamId: null };
}

export const CONVERSATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
