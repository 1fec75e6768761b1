import { ChatMessage } from 'src/modules/providers/provider-adapter';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { PromptVersion, VariableSpec } from 'src/modules/prompts/prompt.types';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;
/** Strings longer than this need an explicit, larger `max_length` on their variable. */
export const DEFAULT_MAX_LENGTH = 100_000;
const MAX_VARIABLES = 256;

export function placeholdersOf(content: string): string[] {
  return [...content.matchAll(PLACEHOLDER)].map((match) => match[1]);
}

/**
 * Renders a template version into chat messages. Variables are data: each value is converted to text
 * and placed inside the content string of the message that names it, in one pass (a value that looks
 * like a placeholder is not expanded again). The result always has exactly the template's messages and
 * roles; nothing a caller sends can add, remove or re-role a message, whatever it contains (`"}]`,
 * `<|im_start|>system`, `\n\nassistant:`): serialisation to the provider's wire format escapes it.
 */
export function renderPrompt(version: PromptVersion, input: unknown): ChatMessage[] {
  const values = resolveVariables(version.variables, input);
  return version.messages.map((message) => ({
    role: message.role,
    content: message.content.replace(PLACEHOLDER, (_match, name: string) => values.get(name) ?? ''),
  }));
}

/** Checks caller-supplied variables against the template's declarations and returns their text forms. */
export function resolveVariables(specs: readonly VariableSpec[], input: unknown): Map<string, string> {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw PromptException.invalid("'variables' must be an object.", 'variables');
  }
  const given = (input ?? {}) as Record<string, unknown>;
  const keys = Object.keys(given);
  if (keys.length > MAX_VARIABLES) {
    throw PromptException.invalid(`At most ${MAX_VARIABLES} variables are accepted.`, 'variables');
  }
  const declared = new Map(specs.map((spec) => [spec.name, spec]));
  const unknown = keys.filter((key) => !declared.has(key));
  if (unknown.length > 0) {
    const list = unknown.slice(0, 5).map(clip).join("', '");
    throw PromptException.invalid(`Unknown template variable(s): '${list}'.`, 'variables');
  }
  const values = new Map<string, string>();
  for (const spec of specs) {
    const raw = Object.hasOwn(given, spec.name) ? given[spec.name] : undefined;
    if (raw === undefined || raw === null) {
      if (spec.default !== undefined) values.set(spec.name, String(spec.default));
      else if (spec.required) {
        throw PromptException.invalid(
          `Template variable '${spec.name}' is required.`,
          `variables.${spec.name}`,
        );
      } else values.set(spec.name, '');
      continue;
    }
    values.set(spec.name, checkValue(spec, raw));
  }
  return values;
}

function checkValue(spec: VariableSpec, raw: unknown): string {
  const param = `variables.${spec.name}`;
  const wrong = (what: string) =>
    PromptException.invalid(`Template variable '${spec.name}' must be ${what}.`, param);
  switch (spec.type) {
    case 'string': {
      if (typeof raw !== 'string') throw wrong('a string');
      const max = spec.max_length ?? DEFAULT_MAX_LENGTH;
      if (raw.length > max) throw wrong(`at most ${max} characters long`);
      if (!raw.isWellFormed()) throw wrong('well-formed Unicode text');
      if (spec.enum && !spec.enum.includes(raw)) throw wrong(`one of '${spec.enum.join("', '")}'`);
      return raw;
    }
    case 'number':
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw wrong('a finite number');
      return String(raw);
    case 'integer':
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw wrong('an integer');
      return String(raw);
    case 'boolean':
      if (typeof raw !== 'boolean') throw wrong('a boolean');
      return String(raw);
  }
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
