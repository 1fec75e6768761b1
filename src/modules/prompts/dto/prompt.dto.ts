import { z } from 'zod';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { placeholdersOf } from 'src/modules/prompts/prompt-renderer';
import {
  LABEL_PATTERN,
  NAME_PATTERN,
  TEMPLATE_PARAMS,
  TEMPLATE_ROLES,
  VARIABLE_TYPES,
  VariableSpec,
} from 'src/modules/prompts/prompt.types';

const name = z.string().regex(NAME_PATTERN, 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');
const label = z.string().regex(LABEL_PATTERN, 'must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
const version = z.number().int().min(1).max(1_000_000);

const variable = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an identifier'),
    type: z.enum(VARIABLE_TYPES).default('string'),
    required: z.boolean().optional(),
    default: z.union([z.string().max(100_000), z.number(), z.boolean()]).optional(),
    max_length: z.number().int().min(1).max(10_000_000).optional(),
    enum: z.array(z.string().max(1000)).min(1).max(256).optional(),
    description: z.string().max(2000).optional(),
  })
  .strict();

const templateBody = {
  messages: z
    .array(z.object({ role: z.enum(TEMPLATE_ROLES), content: z.string().max(1_000_000) }).strict())
    .min(1)
    .max(256),
  variables: z.array(variable).max(256).default([]),
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .refine((p) => Object.keys(p).every((k) => (TEMPLATE_PARAMS as readonly string[]).includes(k)), {
      message: `only ${TEMPLATE_PARAMS.join(', ')} may be set`,
    }),
  commit_message: z.string().max(2000).default(''),
  labels: z.array(label).max(32).default([]),
};

export const CreateTemplateSchema = z
  .object({ name, description: z.string().max(4000).default(''), ...templateBody })
  .strict();
export const CreateVersionSchema = z.object(templateBody).strict();
export const MoveLabelSchema = z.object({ version }).strict();
export const RenderSchema = z
  .object({
    version: version.optional(),
    label: label.optional(),
    variables: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export const PublishApiSchema = z
  .object({
    template: name,
    label: label.optional(),
    version: version.optional(),
    endpoint: z.string().min(1).max(256),
    description: z.string().max(4000).default(''),
    output_schema: z.record(z.string(), z.unknown()).nullable().default(null),
    structured_output: z.boolean().default(true),
  })
  .strict()
  .refine((v) => !(v.label !== undefined && v.version !== undefined), {
    message: "give either 'label' or 'version', not both",
  });

export type CreateTemplateInput = z.infer<typeof CreateTemplateSchema>;
export type CreateVersionInput = z.infer<typeof CreateVersionSchema>;
export type RenderInput = z.infer<typeof RenderSchema>;
export type PublishApiInput = z.infer<typeof PublishApiSchema>;

/** Parses an admin body; the first problems are reported with their paths, never as a 500. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw PromptException.invalid(`Invalid request body: ${problems.join('; ')}`, problemParam(result.error));
}

function problemParam(error: z.ZodError): string | null {
  const path = error.issues[0]?.path;
  return path && path.length > 0 ? path.join('.') : null;
}

/** Cross-field rules of a template definition: placeholders declared, defaults well-typed, names unique. */
export function checkDefinition(input: CreateVersionInput): VariableSpec[] {
  const seen = new Set<string>();
  const variables: VariableSpec[] = input.variables.map((v) => {
    if (seen.has(v.name))
      throw PromptException.invalid(`Variable '${v.name}' is declared twice.`, 'variables');
    seen.add(v.name);
    if (v.default !== undefined && !defaultMatches(v.type, v.default)) {
      throw PromptException.invalid(`The default of '${v.name}' is not a ${v.type}.`, 'variables');
    }
    return {
      name: v.name,
      type: v.type,
      required: v.required ?? v.default === undefined,
      ...(v.default !== undefined ? { default: v.default } : {}),
      ...(v.max_length !== undefined ? { max_length: v.max_length } : {}),
      ...(v.enum !== undefined ? { enum: v.enum } : {}),
      ...(v.description !== undefined ? { description: v.description } : {}),
    };
  });
  input.messages.forEach((message, index) => {
    for (const placeholder of placeholdersOf(message.content)) {
      if (!seen.has(placeholder)) {
        throw PromptException.invalid(
          `messages[${index}] uses '{{${placeholder}}}', which is not declared in 'variables'.`,
          `messages[${index}].content`,
        );
      }
    }
  });
  return variables;
}

function defaultMatches(type: VariableSpec['type'], value: unknown): boolean {
  if (type === 'string') return typeof value === 'string';
  if (type === 'boolean') return typeof value === 'boolean';
  if (type === 'integer') return Number.isSafeInteger(value);
  return typeof value === 'number' && Number.isFinite(value);
}
