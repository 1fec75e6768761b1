import {
  MLFLOW_PROMPT_PREFIX,
  PromptTemplate,
  PromptVersion,
  TEMPLATE_ROLES,
  TemplateMessage,
  TemplateRole,
  VariableSpec,
} from 'src/modules/prompts/prompt.types';

/** MLflow's REST shapes (registered-models/get, model-versions/search) for a prompt. */
export interface MlflowPromptModel {
  name: string;
  description?: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  aliases?: { alias?: string; version?: string | number }[];
  tags?: { key?: string; value?: string }[];
}

export interface MlflowPromptVersion {
  name?: string;
  version?: string | number;
  description?: string;
  creation_timestamp?: number | string;
  user_id?: string;
  tags?: { key?: string; value?: string }[];
}

/** Tags MLflow keeps a prompt in (mlflow/prompt/constants.py). */
export const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';
export const PROMPT_TEXT_TAG = 'mlflow.prompt.text';
export const PROMPT_TYPE_TAG = '_mlflow_prompt_type';

/** MLflow allows dotted variables (`{{ a.b }}`); Gatehouse's typed variables are plain names. */
const MLFLOW_VARIABLE = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\s*\}\}/g;
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Only the most recent versions are kept in memory. */
const MAX_VERSIONS = 100;

const tagsOf = (tags: { key?: string; value?: string }[] | undefined): Map<string, string> =>
  new Map(
    (tags ?? [])
      .filter((t): t is { key: string; value: string } => typeof t.key === 'string')
      .map((t) => [t.key, t.value ?? '']),
  );

const dateOf = (value: number | string | undefined): Date =>
  new Date(value === undefined ? 0 : Number(value) || 0);

/**
 * An MLflow prompt as a catalog template named `prompts:/<name>`: versions keep MLflow's numbers,
 * aliases become labels (plus `latest`). A text prompt is one user message; a chat prompt keeps its
 * messages. Every `{{variable}}` becomes a required string variable. Versions Gatehouse cannot render
 * (dotted variables, unknown roles, bad JSON) are left out and reported.
 */
export function fromMlflowPrompt(
  model: MlflowPromptModel,
  rawVersions: readonly MlflowPromptVersion[],
): { template?: PromptTemplate; problems: string[] } {
  const problems: string[] = [];
  if (tagsOf(model.tags).get(IS_PROMPT_TAG) !== 'true') {
    return { problems: [`'${model.name}' is a registered model, not a prompt`] };
  }
  const name = `${MLFLOW_PROMPT_PREFIX}${model.name}`;
  const versions = new Map<number, PromptVersion>();
  const sorted = rawVersions
    .map((raw) => ({ raw, number: Number(raw.version) }))
    .filter((v) => Number.isSafeInteger(v.number) && v.number > 0)
    .sort((a, b) => b.number - a.number)
    .slice(0, MAX_VERSIONS);
  for (const { raw, number } of sorted) {
    const converted = convertVersion(name, number, raw);
    if ('problem' in converted) problems.push(`version ${number}: ${converted.problem}`);
    else versions.set(number, converted.version);
  }
  const labels = new Map<string, number>();
  for (const entry of model.aliases ?? []) {
    const version = Number(entry.version);
    if (entry.alias && versions.has(version)) labels.set(entry.alias, version);
  }
  // `latest` is MLflow's newest version; when that one cannot be rendered, `@latest` is unavailable
  // (503) rather than silently an older version.
  const latestVersion = sorted[0]?.number ?? 0;
  if (versions.has(latestVersion) && !labels.has('latest')) labels.set('latest', latestVersion);
  return {
    template: {
      id: name,
      name,
      description: model.description ?? '',
      versions,
      labels,
      latestVersion,
      createdAt: dateOf(model.creation_timestamp),
      updatedAt: dateOf(model.last_updated_timestamp),
    },
    problems,
  };
}

function convertVersion(
  template: string,
  number: number,
  raw: MlflowPromptVersion,
): { version: PromptVersion } | { problem: string } {
  const tags = tagsOf(raw.tags);
  const text = tags.get(PROMPT_TEXT_TAG);
  if (text === undefined) return { problem: 'no prompt text' };
  let messages: TemplateMessage[];
  if (tags.get(PROMPT_TYPE_TAG) === 'chat') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { problem: 'the chat template is not JSON' };
    }
    if (!Array.isArray(parsed) || parsed.length === 0)
      return { problem: 'the chat template has no messages' };
    messages = [];
    for (const message of parsed as { role?: unknown; content?: unknown }[]) {
      if (!TEMPLATE_ROLES.includes(message?.role as TemplateRole) || typeof message.content !== 'string') {
        return { problem: `a chat message has role '${String(message?.role)}' or non-text content` };
      }
      messages.push({ role: message.role as TemplateRole, content: message.content });
    }
  } else {
    messages = [{ role: 'user', content: text }];
  }
  const names = new Set<string>();
  for (const message of messages) {
    for (const match of message.content.matchAll(MLFLOW_VARIABLE)) names.add(match[1]);
  }
  const dotted = [...names].filter((n) => !PLAIN_NAME.test(n));
  if (dotted.length > 0) return { problem: `variables Gatehouse cannot fill: ${dotted.join(', ')}` };
  const variables: VariableSpec[] = [...names]
    .sort()
    .map((n) => ({ name: n, type: 'string', required: true }));
  return {
    version: {
      template,
      version: number,
      messages,
      variables,
      params: {},
      commitMessage: raw.description ?? '',
      createdBy: raw.user_id || null,
      createdAt: dateOf(raw.creation_timestamp),
    },
  };
}
