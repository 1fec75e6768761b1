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

const ACTIONS = ['allow', 'redact', 'block', 'flag'];
const STAGES = ['input', 'output'];
const nullableString = { type: 'string', nullable: true };
const CHECK_NAMES = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name', 'type'],
    properties: { name: { type: 'string' }, type: { type: 'string' } },
  },
};

/** OpenAPI forms of the interfaces above (the web console's typed client reads them). */
export const POLICIES_VIEW = {
  type: 'object',
  required: ['default', 'policies', 'endpoints'],
  properties: {
    default: nullableString,
    policies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'input', 'output', 'stream_window'],
        properties: {
          name: { type: 'string' },
          input: CHECK_NAMES,
          output: CHECK_NAMES,
          stream_window: { type: 'integer' },
        },
      },
    },
    endpoints: {
      type: 'array',
      items: {
        type: 'object',
        required: ['endpoint', 'policy'],
        properties: { endpoint: { type: 'string' }, policy: nullableString },
      },
    },
  },
};

export const OVERRIDE_VIEW = {
  type: 'object',
  required: ['team', 'endpoint', 'policy', 'updated_by', 'updated_at'],
  properties: {
    team: { type: 'string' },
    endpoint: { type: 'string', description: "an endpoint name, or '*' for all" },
    policy: { description: "a policy name, 'none', or an inline policy" },
    updated_by: nullableString,
    updated_at: { type: 'string', format: 'date-time' },
  },
};

export const DRY_RUN_BODY = {
  type: 'object',
  required: ['text'],
  properties: {
    text: { type: 'string' },
    stage: { type: 'string', enum: STAGES, description: 'default input' },
    policy: { type: 'string', description: 'a named policy from gateway.yaml …' },
    endpoint: { type: 'string', description: '… or the policy that guards this endpoint' },
    team: { type: 'string', description: "with endpoint: that team's override, if any" },
  },
  example: { text: 'mail me at a@b.co', endpoint: 'chat', team: 'ops' },
};

export const DRY_RUN_VIEW = {
  type: 'object',
  required: ['policy', 'source', 'stage', 'action', 'text', 'blocked_message', 'checks'],
  properties: {
    policy: nullableString,
    source: { type: 'string' },
    stage: { type: 'string', enum: STAGES },
    action: { type: 'string', enum: ACTIONS },
    text: { ...nullableString, description: 'the text as the provider or caller would see it' },
    blocked_message: nullableString,
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['check', 'action', 'categories', 'reasons'],
        properties: {
          check: { type: 'string' },
          action: { type: 'string', enum: ACTIONS },
          categories: { type: 'array', items: { type: 'string' } },
          reasons: { type: 'array', items: { type: 'string' } },
          score: { type: 'number' },
          error: { type: 'string' },
        },
      },
    },
  },
};
