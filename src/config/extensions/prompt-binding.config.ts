export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Templates synced from MLflow's Prompt Registry are named `prompts:/<name>` in the catalog. */
export const MLFLOW_PROMPT_PREFIX = 'prompts:/';

/** How an endpoint or a published API refers to a template: a label that can move, or a fixed version. */
export type PromptSelector = { template: string; label: string } | { template: string; version: number };

/** MLflow's prompt names: letters, digits, `_`, `-`, `.` (mlflow/prompt/constants.py PROMPT_NAME_RULE). */
const MLFLOW_PROMPT_NAME = /^[a-zA-Z0-9_.-]{1,256}$/;

/**
 * `prompts:/<name>@<alias>` or `prompts:/<name>/<version>` — a prompt in MLflow's Prompt Registry, synced
 * like models. The selector's template is the URI without its version part (`prompts:/<name>`), a name no
 * local template can take, so the two catalogs never collide.
 */
export function readMlflowPromptUri(uri: string): { binding?: PromptSelector; problems: string[] } {
  const match = /^prompts:\/([^/@]+)(?:@([^/@]+)|\/(\d+))$/.exec(uri);
  if (!match || !MLFLOW_PROMPT_NAME.test(match[1])) {
    return {
      problems: [
        `'gatehouse.prompt' '${uri.slice(0, 200)}' must be a mapping, or an MLflow prompt URI 'prompts:/<name>@<alias>' or 'prompts:/<name>/<version>'.`,
      ],
    };
  }
  const template = `${MLFLOW_PROMPT_PREFIX}${match[1]}`;
  if (match[3] !== undefined) {
    const version = Number(match[3]);
    if (!Number.isSafeInteger(version) || version <= 0) {
      return { problems: [`'gatehouse.prompt' '${uri}': the version must be a positive integer.`] };
    }
    return { binding: { template, version }, problems: [] };
  }
  if (!LABEL_PATTERN.test(match[2])) {
    return { problems: [`'gatehouse.prompt' '${uri}': '${match[2].slice(0, 64)}' is not a valid alias.`] };
  }
  return { binding: { template, label: match[2] }, problems: [] };
}

/**
 * Reads an endpoint's `gatehouse.prompt` block: `{template: <name>, label: <label>}` or
 * `{template: <name>, version: <n>}`; a label defaults to `production`. Problems are returned, not thrown,
 * so the config loader can report them with every other problem in the file.
 */
export function readPromptBinding(value: unknown): { binding?: PromptSelector; problems: string[] } {
  if (value === undefined || value === null) return { problems: [] };
  if (typeof value === 'string') return readMlflowPromptUri(value);
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
