/** Roles a template message may carry; tool/function turns belong to callers, not to templates. */
export const TEMPLATE_ROLES = ['system', 'developer', 'user', 'assistant'] as const;
export type TemplateRole = (typeof TEMPLATE_ROLES)[number];

export interface TemplateMessage {
  role: TemplateRole;
  /** Text with `{{variable}}` placeholders. */
  content: string;
}

export const VARIABLE_TYPES = ['string', 'number', 'integer', 'boolean'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export interface VariableSpec {
  name: string;
  type: VariableType;
  required: boolean;
  default?: string | number | boolean;
  /** Longest accepted value, in characters (strings only). */
  max_length?: number;
  enum?: string[];
  description?: string;
}

/** One immutable version of a template, as held in the in-memory snapshot. */
export interface PromptVersion {
  template: string;
  version: number;
  messages: TemplateMessage[];
  variables: VariableSpec[];
  /** Default request parameters (temperature, max_tokens, …); the caller's own values win. */
  params: Record<string, unknown>;
  commitMessage: string;
  createdBy: string | null;
  createdAt: Date;
}

export interface PromptTemplate {
  id: string;
  name: string;
  description: string;
  versions: ReadonlyMap<number, PromptVersion>;
  labels: ReadonlyMap<string, number>;
  latestVersion: number;
  createdAt: Date;
  updatedAt: Date;
  /** The owning team; null or absent = global (admin-owned; MLflow registry prompts are). */
  teamId?: string | null;
}

export type { PromptSelector } from 'src/config/extensions/prompt-binding.config';

export interface PublishedPromptApi {
  name: string;
  template: string;
  label: string | null;
  version: number | null;
  endpoint: string;
  description: string;
  outputSchema: Record<string, unknown> | null;
  structuredOutput: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** The owning team; null or absent = global (admin-owned). */
  teamId?: string | null;
}

/** Default request parameters a template may set. Anything else is refused at write time. */
export const TEMPLATE_PARAMS = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'presence_penalty',
  'frequency_penalty',
  'stop',
  'seed',
] as const;

// Names and labels are part of the config file's grammar (gatehouse.prompt), defined with it.
export {
  LABEL_PATTERN,
  MLFLOW_PROMPT_PREFIX,
  NAME_PATTERN,
} from 'src/config/extensions/prompt-binding.config';
