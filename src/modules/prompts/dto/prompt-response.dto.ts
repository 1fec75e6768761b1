import {
  PromptTemplate,
  PromptVersion,
  PublishedPromptApi,
  VariableSpec,
} from 'src/modules/prompts/prompt.types';

export interface PromptVersionDto {
  template: string;
  version: number;
  messages: { role: string; content: string }[];
  variables: VariableSpec[];
  params: Record<string, unknown>;
  commit_message: string;
  created_by: string | null;
  created_at: string;
  labels: string[];
}

export interface PromptTemplateSummaryDto {
  name: string;
  description: string;
  latest_version: number;
  labels: Record<string, number>;
  updated_at: string;
}

export interface PromptTemplateDto extends PromptTemplateSummaryDto {
  created_at: string;
  versions: { version: number; commit_message: string; created_at: string; labels: string[] }[];
}

export interface PromptDiffDto {
  template: string;
  from: number;
  to: number;
  identical: boolean;
  messages_changed: boolean;
  params_changed: boolean;
  variables: { added: string[]; removed: string[]; changed: string[] };
  /** Unified diff of a line-oriented rendering of both versions. */
  patch: string;
}

export interface PromptRenderDto {
  template: string;
  version: number;
  messages: { role: string; content: string }[];
  params: Record<string, unknown>;
}

export interface PromptApiDto {
  name: string;
  path: string;
  template: string;
  label: string | null;
  version: number | null;
  endpoint: string;
  description: string;
  output_schema: Record<string, unknown> | null;
  structured_output: boolean;
  created_at: string;
  updated_at: string;
}

function labelsOf(template: PromptTemplate, version: number): string[] {
  return [...template.labels]
    .filter(([, v]) => v === version)
    .map(([label]) => label)
    .sort();
}

export function toTemplateSummary(template: PromptTemplate): PromptTemplateSummaryDto {
  return {
    name: template.name,
    description: template.description,
    latest_version: template.latestVersion,
    labels: Object.fromEntries([...template.labels].sort(([a], [b]) => a.localeCompare(b))),
    updated_at: template.updatedAt.toISOString(),
  };
}

export function toTemplateDto(template: PromptTemplate): PromptTemplateDto {
  return {
    ...toTemplateSummary(template),
    created_at: template.createdAt.toISOString(),
    versions: [...template.versions.values()]
      .sort((a, b) => a.version - b.version)
      .map((v) => ({
        version: v.version,
        commit_message: v.commitMessage,
        created_at: v.createdAt.toISOString(),
        labels: labelsOf(template, v.version),
      })),
  };
}

export function toVersionDto(version: PromptVersion, template?: PromptTemplate): PromptVersionDto {
  return {
    template: version.template,
    version: version.version,
    messages: version.messages.map((m) => ({ role: m.role, content: m.content })),
    variables: version.variables,
    params: version.params,
    commit_message: version.commitMessage,
    created_by: version.createdBy,
    created_at: version.createdAt.toISOString(),
    labels: template ? labelsOf(template, version.version) : [],
  };
}

export function toApiDto(api: PublishedPromptApi): PromptApiDto {
  return {
    name: api.name,
    path: `/apis/${api.name}`,
    template: api.template,
    label: api.label,
    version: api.version,
    endpoint: api.endpoint,
    description: api.description,
    output_schema: api.outputSchema,
    structured_output: api.structuredOutput,
    created_at: api.createdAt.toISOString(),
    updated_at: api.updatedAt.toISOString(),
  };
}

import { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

const object = (properties: Record<string, SchemaObject>): SchemaObject => ({ type: 'object', properties });

export const TEMPLATE_WRITE_SCHEMA = object({
  name: { type: 'string', example: 'support-reply' },
  description: { type: 'string' },
  messages: {
    type: 'array',
    items: object({
      role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant'] },
      content: { type: 'string', example: 'Answer {{question}}' },
    }),
  },
  variables: {
    type: 'array',
    items: object({
      name: { type: 'string' },
      type: { type: 'string', enum: ['string', 'number', 'integer', 'boolean'] },
      required: { type: 'boolean' },
      default: { description: 'Used when the caller omits the variable.' },
      max_length: { type: 'integer' },
      enum: { type: 'array', items: { type: 'string' } },
      description: { type: 'string' },
    }),
  },
  params: {
    type: 'object',
    description: 'Default temperature, top_p, max_tokens, … (the caller may override).',
  },
  commit_message: { type: 'string' },
  labels: { type: 'array', items: { type: 'string' }, example: ['staging'] },
});

export const PROMPT_API_WRITE_SCHEMA = object({
  template: { type: 'string' },
  label: { type: 'string', description: "Follow a label (e.g. 'production'); or pin 'version'." },
  version: { type: 'integer' },
  endpoint: { type: 'string', description: 'A chat endpoint or traffic route from gateway.yaml.' },
  description: { type: 'string' },
  output_schema: {
    type: 'object',
    nullable: true,
    description: 'JSON Schema the model output must satisfy.',
  },
  structured_output: { type: 'boolean', description: "Use the provider's JSON-schema mode when it has one." },
});

/** The same object, every property present (the web console's typed client reads these views). */
const complete = (properties: Record<string, SchemaObject>): SchemaObject => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
});
const MESSAGES: SchemaObject = {
  type: 'array',
  items: complete({ role: { type: 'string' }, content: { type: 'string' } }),
};
const SUMMARY = {
  name: { type: 'string' },
  description: { type: 'string' },
  latest_version: { type: 'integer' },
  labels: {
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'label → version',
  },
  updated_at: { type: 'string', format: 'date-time' },
} satisfies Record<string, SchemaObject>;

export const TEMPLATE_SUMMARY_VIEW = complete(SUMMARY);

export const TEMPLATE_VIEW = complete({
  ...SUMMARY,
  created_at: { type: 'string', format: 'date-time' },
  versions: {
    type: 'array',
    items: complete({
      version: { type: 'integer' },
      commit_message: { type: 'string' },
      created_at: { type: 'string', format: 'date-time' },
      labels: { type: 'array', items: { type: 'string' } },
    }),
  },
});

export const VERSION_VIEW = complete({
  template: { type: 'string' },
  version: { type: 'integer' },
  messages: MESSAGES,
  variables: {
    type: 'array',
    items: {
      type: 'object',
      required: ['name', 'type', 'required'],
      properties: {
        name: { type: 'string' },
        type: { type: 'string', enum: ['string', 'number', 'integer', 'boolean'] },
        required: { type: 'boolean' },
        default: {},
        max_length: { type: 'integer' },
        enum: { type: 'array', items: { type: 'string' } },
        description: { type: 'string' },
      },
    },
  },
  params: { type: 'object', additionalProperties: true },
  commit_message: { type: 'string' },
  created_by: { type: 'string', nullable: true },
  created_at: { type: 'string', format: 'date-time' },
  labels: { type: 'array', items: { type: 'string' } },
});

const NAMES: SchemaObject = { type: 'array', items: { type: 'string' } };

export const DIFF_VIEW = complete({
  template: { type: 'string' },
  from: { type: 'integer' },
  to: { type: 'integer' },
  identical: { type: 'boolean' },
  messages_changed: { type: 'boolean' },
  params_changed: { type: 'boolean' },
  variables: complete({ added: NAMES, removed: NAMES, changed: NAMES }),
  patch: { type: 'string', description: 'unified diff of a line-oriented rendering of both versions' },
});

export const RENDER_VIEW = complete({
  template: { type: 'string' },
  version: { type: 'integer' },
  messages: MESSAGES,
  params: { type: 'object', additionalProperties: true },
});
