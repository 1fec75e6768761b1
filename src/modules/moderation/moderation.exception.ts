import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { CheckVerdict, ModerationStage } from 'src/modules/moderation/moderation.types';

/**
 * A guardrail blocked the request or the response: 400 `content_policy_violation` on /v1 and, like MLflow's
 * guardrails, `{"detail": "Guardrail '<name>' blocked: …"}` on MLflow paths. The reason names categories,
 * never the matched text.
 */
export class ModerationBlockedException extends GatewayException {
  constructor(
    readonly verdict: CheckVerdict,
    readonly stage: ModerationStage,
  ) {
    super(400, GatewayErrorCode.ContentPolicyViolation, blockMessage(verdict, stage), {
      type: 'invalid_request_error',
    });
  }
}

export function blockMessage(verdict: CheckVerdict, stage: ModerationStage): string {
  const subject = stage === 'input' ? 'the request' : 'the response';
  const reasons = [...new Set(verdict.detections.map((d) => d.reason))].slice(0, 5);
  let why: string;
  if (verdict.error) why = `${reasons[0] ?? 'moderation model unavailable'}; the policy fails closed`;
  else if (verdict.detections.some((d) => d.category === 'prompt_injection')) {
    why = `${subject} looks like a prompt injection (${reasons.join(', ')}; score ${verdict.score ?? 1})`;
  } else why = `${subject} contains ${reasons.join(', ') || 'disallowed content'}`;
  return `Guardrail '${verdict.check}' blocked: ${why}.`;
}
