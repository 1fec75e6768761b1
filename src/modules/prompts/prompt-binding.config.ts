import { LABEL_PATTERN, NAME_PATTERN, PromptSelector } from 'src/modules/prompts/prompt.types';

/**
 * Reads an endpoint's `gatehouse.prompt` block: `{template: <name>, label: <label>}` or
 * `{template: <name>, version: <n>}`; a label defaults to `production`. Problems are returned, not thrown,
 * so the config loader can report them with every other problem in the file.
 */
export function readPromptBinding(value: unknown): { binding?: PromptSelector; problems: string[] } {
  if (value === undefined || value === null) return { problems: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { problems: ["'gatehouse.prompt' must be a mapping with 'template' and 'label' or 'version'."] };
  }
  const raw = value as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(raw).filter((k) => !['template', 'label', 'version'].includes(k));
  if (unknown.length > 0) problems.push(`'gatehouse.prompt' has unknown key(s): ${unknown.join(', ')}.`);
  if (typeof raw.template !== 'string' || !NAME_PATTERN.test(raw.template)) {
    problems.push("'gatehouse.prompt.template' must be a template name.");
  }
  if (raw.label !== undefined && raw.version !== undefined) {
    problems.push("'gatehouse.prompt' takes either 'label' or 'version', not both.");
  }
  if (raw.version !== undefined && !(Number.isSafeInteger(raw.version) && (raw.version as number) > 0)) {
    problems.push("'gatehouse.prompt.version' must be a positive integer.");
  }
  if (raw.label !== undefined && (typeof raw.label !== 'string' || !LABEL_PATTERN.test(raw.label))) {
    problems.push("'gatehouse.prompt.label' must be a label name.");
  }
  if (problems.length > 0) return { problems };
  const template = raw.template as string;
  if (raw.version !== undefined) return { binding: { template, version: raw.version as number }, problems };
  return { binding: { template, label: (raw.label as string | undefined) ?? 'production' }, problems };
}
