import {
  CheckContext,
  CheckVerdict,
  ModerationAction,
  ModerationCheck,
  ModerationStage,
  maxAction,
} from 'src/modules/moderation/moderation.types';

export interface TextUnit {
  text: string;
  /** The chat role the text came from, if any. */
  role?: string;
}

export interface StageOutcome {
  action: ModerationAction;
  /** One merged verdict per check that did not simply allow. */
  verdicts: CheckVerdict[];
  /** The texts after redaction, in input order. */
  texts: string[];
  blockedBy?: CheckVerdict;
}

export type StageContext = Omit<CheckContext, 'role' | 'stage'>;

/**
 * Runs checks in order over each text; a redaction feeds the redacted text to later checks, a block stops
 * everything. System messages are the application's own words and skip the injection heuristics.
 */
export async function runStage(
  checks: readonly ModerationCheck[],
  stage: ModerationStage,
  units: readonly TextUnit[],
  base: StageContext,
  filter: (check: ModerationCheck) => boolean = () => true,
): Promise<StageOutcome> {
  const merged = new Map<string, CheckVerdict>();
  const texts: string[] = [];
  let action: ModerationAction = 'allow';
  for (const unit of units) {
    let text = unit.text;
    for (const check of checks) {
      if (!filter(check) || text.length === 0) continue;
      if (check.type === 'injection' && unit.role === 'system') continue;
      const verdict = await check.run(text, { ...base, stage, role: unit.role });
      if (verdict.action === 'allow' && !verdict.error) continue;
      merge(merged, verdict);
      action = maxAction(action, verdict.action);
      if (verdict.action === 'block') {
        return { action: 'block', verdicts: [...merged.values()], texts: [], blockedBy: verdict };
      }
      if (verdict.action === 'redact' && verdict.text !== undefined) text = verdict.text;
    }
    texts.push(text);
  }
  return { action, verdicts: [...merged.values()], texts };
}

function merge(into: Map<string, CheckVerdict>, verdict: CheckVerdict): void {
  const existing = into.get(verdict.check);
  if (!existing) {
    into.set(verdict.check, { ...verdict, detections: [...verdict.detections], text: undefined });
    return;
  }
  existing.action = maxAction(existing.action, verdict.action);
  existing.detections.push(...verdict.detections);
  existing.score = Math.max(existing.score ?? 0, verdict.score ?? 0);
  existing.error ??= verdict.error;
}
