import { ModerationAction, ModerationStage } from 'src/modules/moderation/moderation.types';

export interface DryRunRequestDto {
  text: string;
  stage?: ModerationStage;
  /** A named policy from gateway.yaml … */
  policy?: string;
  /** … or the policy that guards this endpoint (for `team`, when given). */
  endpoint?: string;
  team?: string;
}

export interface CheckResultDto {
  check: string;
  action: ModerationAction;
  categories: string[];
  reasons: string[];
  score?: number;
  error?: string;
}

export interface DryRunResponseDto {
  policy: string | null;
  source: string;
  stage: ModerationStage;
  action: ModerationAction;
  /** The text as the provider (input) or the caller (output) would see it. */
  text: string | null;
  blocked_message: string | null;
  checks: CheckResultDto[];
}

export interface TeamOverrideDto {
  team: string;
  endpoint: string;
  policy: unknown;
  updated_by: string | null;
  updated_at: string;
}

export interface PolicySummaryDto {
  name: string;
  input: { name: string; type: string }[];
  output: { name: string; type: string }[];
  stream_window: number;
}

export interface PoliciesResponseDto {
  default: string | null;
  policies: PolicySummaryDto[];
  endpoints: { endpoint: string; policy: string | null }[];
}

export interface OpenAIModerationResponseDto {
  id: string;
  model: string;
  results: {
    flagged: boolean;
    categories: Record<string, boolean>;
    category_scores: Record<string, number>;
  }[];
}
