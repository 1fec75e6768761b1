import { ModerationAction, ModerationStage } from 'src/modules/moderation/moderation.types';

export const MODERATION_VERDICT_EVENT = 'moderation.verdict';

/**
 * Emitted once per request and stage where a policy ran (for usage records, metrics and the audit log).
 * Carries categories and counts, never the matched text.
 */
export class ModerationVerdictEvent {
  constructor(
    readonly requestId: string,
    readonly endpoint: string,
    readonly policy: string,
    readonly stage: ModerationStage,
    readonly action: ModerationAction,
    readonly checks: readonly {
      check: string;
      action: ModerationAction;
      categories: readonly string[];
      score?: number;
      error?: string;
    }[],
    readonly teamId: string | null,
    readonly principalId: string | null,
    readonly streamed: boolean,
    readonly latencyMs: number,
    readonly at: Date = new Date(),
  ) {}
}
