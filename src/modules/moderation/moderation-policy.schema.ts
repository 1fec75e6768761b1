import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { NO_MODERATION } from 'src/modules/routing/route-extension.registry';
import {
  DenyListCheck,
  DenyPatternError,
  compileDenyPattern,
} from 'src/modules/moderation/checks/deny-list.check';
import { DEFAULT_JUDGE_PROMPT, ExternalCheck } from 'src/modules/moderation/checks/external.check';
import { InjectionCheck } from 'src/modules/moderation/checks/injection.check';
import { PiiCheck } from 'src/modules/moderation/checks/pii.check';
import { PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';
import { CompiledPolicy, ModerationCheck } from 'src/modules/moderation/moderation.types';

/*
 * Policy syntax, shared by gateway.yaml (`gatehouse.moderation` at the top level and on endpoints) and the
 * admin API (team overrides). Unknown keys are errors: a typo in a guardrail must not silently disable it.
 */

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');

const piiSpec = z.strictObject({
  type: z.literal('pii'),
  name: name.optional(),
  action: z.enum(['redact', 'block', 'flag']).default('redact'),
  mode: z.enum(['mask', 'placeholder']).default('mask'),
  entities: z
    .array(z.enum(PII_ENTITIES))
    .min(1)
    .default([...PII_ENTITIES]),
  default_region: z
    .string()
    .refine((c) => isSupportedCountry(c), 'must be an ISO 3166-1 alpha-2 region libphonenumber knows')
    .default('US'),
  entropy_threshold: z.number().min(3).max(8).default(4.2),
});

const denyListSpec = z.strictObject({
  type: z.literal('deny-list'),
  name: name.optional(),
  action: z.enum(['redact', 'block', 'flag']).default('block'),
  keywords: z.array(z.string().min(1).max(256)).max(10_000).default([]),
  patterns: z
    .array(
      z.string().superRefine((source, ctx) => {
        try {
          compileDenyPattern(source);
        } catch (error) {
          if (!(error instanceof DenyPatternError)) throw error;
          ctx.addIssue({ code: 'custom', message: `pattern ${error.message}` });
        }
      }),
    )
    .max(200)
    .default([]),
  profanity: z.boolean().default(false),
});

const injectionSpec = z.strictObject({
  type: z.literal('injection'),
  name: name.optional(),
  action: z.enum(['block', 'flag']).default('block'),
  threshold: z.number().gt(0).max(1).default(0.5),
});

const externalSpec = z.strictObject({
  type: z.literal('external'),
  name: name.optional(),
  action: z.enum(['block', 'flag']).default('block'),
  kind: z.enum(['llm-judge', 'openai-moderation']).default('llm-judge'),
  endpoint: z.string().min(1),
  timeout_ms: z.number().int().min(10).max(120_000).default(2_000),
  on_error: z.enum(['allow', 'block']).default('allow'),
  categories: z.array(z.string().regex(/^[a-z0-9_/-]{1,64}$/i)).default([]),
  prompt: z
    .string()
    .refine((p) => p.includes('{{text}}'), 'must contain {{text}}')
    .default(DEFAULT_JUDGE_PROMPT),
});

const checkSpec = z.discriminatedUnion('type', [piiSpec, denyListSpec, injectionSpec, externalSpec]);
export type CheckSpec = z.infer<typeof checkSpec>;

export const policySpec = z.strictObject({
  input: z.array(checkSpec).max(32).default([]),
  output: z.array(checkSpec).max(32).default([]),
  stream_window: z.number().int().min(8).max(4096).default(64),
});
export type PolicySpec = z.infer<typeof policySpec>;

const TEAM_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const ENDPOINT_KEY = /^(?:\*|[a-zA-Z0-9_\-.]{1,256})$/;

const rootSpec = z.strictObject({
  default: name.optional(),
  policies: z.record(name, policySpec).default({}),
  /** Per-team choices in the file: `teams: {risk: {'*': strict, chat: none}}`; admin overrides win. */
  teams: z
    .record(
      z.string().regex(TEAM_ID, 'a team id: 1–128 letters, digits, _ . : @ -'),
      z.record(z.string().regex(ENDPOINT_KEY, "an endpoint name or '*'"), z.unknown()),
    )
    .default({}),
});

/** An endpoint's or team's choice: a named policy, an inline one, or `none` (no guardrails). */
export type PolicyRef =
  { kind: 'named'; name: string } | { kind: 'inline'; spec: PolicySpec } | { kind: 'none' };

export interface ModerationFileConfig {
  policies: ReadonlyMap<string, CompiledPolicy>;
  defaultPolicy: CompiledPolicy | undefined;
  /** team → endpoint name or `*` → policy (`null` = no guardrails). */
  teams: ReadonlyMap<string, ReadonlyMap<string, CompiledPolicy | null>>;
}

/** No named policies, no default: the same value an empty route table carries. */
export const EMPTY_MODERATION: ModerationFileConfig = NO_MODERATION;

function problemsOf(error: z.ZodError, where: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return `${where}${path}: ${issue.message}`;
  });
}

/** Reads the top-level `gatehouse.moderation` mapping. */
export function compileModerationConfig(raw: unknown, problems: string[]): ModerationFileConfig {
  if (raw === undefined || raw === null) return EMPTY_MODERATION;
  const parsed = rootSpec.safeParse(raw);
  if (!parsed.success) {
    problems.push(...problemsOf(parsed.error, '(top level): gatehouse.moderation'));
    return EMPTY_MODERATION;
  }
  const policies = new Map<string, CompiledPolicy>();
  for (const [policyName, spec] of Object.entries(parsed.data.policies)) {
    policies.set(policyName, compilePolicy(policyName, spec));
  }
  const defaultName = parsed.data.default;
  if (defaultName !== undefined && !policies.has(defaultName)) {
    problems.push(`(top level): gatehouse.moderation.default: unknown policy '${defaultName}'.`);
  }
  const teams = new Map<string, Map<string, CompiledPolicy | null>>();
  for (const [team, byEndpoint] of Object.entries(parsed.data.teams)) {
    const choices = new Map<string, CompiledPolicy | null>();
    for (const [endpoint, raw] of Object.entries(byEndpoint)) {
      const where = `(top level): gatehouse.moderation.teams.${team}.${endpoint}`;
      const ref = parsePolicyRef(raw, where, problems);
      if (!ref) continue;
      if (ref.kind === 'none') choices.set(endpoint, null);
      else if (ref.kind === 'inline')
        choices.set(endpoint, compilePolicy(`team:${team}:${endpoint}`, ref.spec));
      else if (policies.has(ref.name)) choices.set(endpoint, policies.get(ref.name)!);
      else problems.push(`${where}: unknown policy '${ref.name}'.`);
    }
    teams.set(team, choices);
  }
  return { policies, defaultPolicy: defaultName ? policies.get(defaultName) : undefined, teams };
}

/** Parses a policy reference (endpoint `gatehouse.moderation` or an admin override body). */
export function parsePolicyRef(raw: unknown, where: string, problems: string[]): PolicyRef | undefined {
  if (raw === 'none' || raw === false) return { kind: 'none' };
  if (typeof raw === 'string') {
    const parsed = name.safeParse(raw);
    if (parsed.success) return { kind: 'named', name: parsed.data };
    problems.push(`${where}: a policy name must use letters, digits, _ . - only.`);
    return undefined;
  }
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'policy' in raw) {
    const keys = Object.keys(raw);
    if (keys.length !== 1) {
      problems.push(`${where}: 'policy' names a policy and cannot be combined with inline checks.`);
      return undefined;
    }
    return parsePolicyRef(raw.policy, `${where}.policy`, problems);
  }
  const parsed = policySpec.safeParse(raw);
  if (!parsed.success) {
    problems.push(...problemsOf(parsed.error, where));
    return undefined;
  }
  return { kind: 'inline', spec: parsed.data };
}

/** Resolves an endpoint's reference against the file's named policies (config-time errors). */
export function compileEndpointModeration(
  raw: unknown,
  file: ModerationFileConfig,
  endpointName: string,
  where: string,
  problems: string[],
): CompiledPolicy | undefined {
  if (raw === undefined || raw === null) return file.defaultPolicy;
  const ref = parsePolicyRef(raw, `${where}: gatehouse.moderation`, problems);
  if (!ref || ref.kind === 'none') return undefined;
  if (ref.kind === 'inline') return compilePolicy(`endpoint:${endpointName}`, ref.spec);
  const named = file.policies.get(ref.name);
  if (!named) problems.push(`${where}: gatehouse.moderation: unknown policy '${ref.name}'.`);
  return named;
}

export function compilePolicy(policyName: string, spec: PolicySpec): CompiledPolicy {
  return {
    name: policyName,
    input: spec.input.map(compileCheck),
    output: spec.output.map(compileCheck),
    streamWindow: spec.stream_window,
  };
}

function compileCheck(spec: CheckSpec): ModerationCheck {
  switch (spec.type) {
    case 'pii':
      return new PiiCheck({
        name: spec.name ?? 'pii',
        action: spec.action,
        mode: spec.mode,
        entities: spec.entities,
        defaultRegion: spec.default_region,
        entropyThreshold: spec.entropy_threshold,
      });
    case 'deny-list':
      return new DenyListCheck({
        name: spec.name ?? 'deny-list',
        action: spec.action,
        keywords: spec.keywords,
        patterns: spec.patterns,
        profanity: spec.profanity,
      });
    case 'injection':
      return new InjectionCheck({
        name: spec.name ?? 'injection',
        action: spec.action,
        threshold: spec.threshold,
      });
    case 'external':
      return new ExternalCheck({
        name: spec.name ?? 'external',
        action: spec.action,
        kind: spec.kind,
        endpoint: spec.endpoint,
        timeoutMs: spec.timeout_ms,
        onError: spec.on_error,
        categories: spec.categories,
        prompt: spec.prompt,
      });
  }
}

/**
 * Cross-references the file's moderation settings with its endpoints: every external check must name an
 * endpoint or traffic route (a chat one for an LLM judge), since the model is called through the gateway's
 * own routing, and every team choice must name an endpoint (or `*`). A typo would otherwise only show up
 * at run time, as a fail-open or a policy that never applies.
 */
export function checkModerationReferences(
  file: ModerationFileConfig,
  endpointPolicies: readonly (CompiledPolicy | undefined)[],
  targets: ReadonlyMap<string, string>,
): string[] {
  const problems = new Set<string>();
  const teamPolicies = [...file.teams.values()].flatMap((m) => [...m.values()]);
  for (const policy of [...file.policies.values(), ...endpointPolicies, ...teamPolicies]) {
    for (const check of [...(policy?.input ?? []), ...(policy?.output ?? [])]) {
      if (!(check instanceof ExternalCheck)) continue;
      const type = targets.get(check.endpoint);
      const wanted = check.kind === 'llm-judge' ? 'a chat endpoint or route' : 'an endpoint or route';
      if (type === undefined || (check.kind === 'llm-judge' && type !== 'llm/v1/chat')) {
        problems.add(
          `gatehouse.moderation: policy '${policy?.name}': check '${check.name}' names '${check.endpoint}', which is not ${wanted}.`,
        );
      }
    }
  }
  for (const [team, choices] of file.teams) {
    for (const endpoint of choices.keys()) {
      if (endpoint !== '*' && !targets.has(endpoint)) {
        problems.add(`(top level): gatehouse.moderation.teams.${team}: unknown endpoint '${endpoint}'.`);
      }
    }
  }
  return [...problems];
}
