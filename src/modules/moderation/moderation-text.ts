import {
  CanonicalRequest,
  CanonicalResponse,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  CompletionsRequest,
  EmbeddingsRequest,
  Operation,
  TextCompletion,
} from 'src/modules/providers/provider-adapter';
import { TextUnit } from 'src/modules/moderation/moderation-pipeline';

/** The texts of a request a guardrail reads, and how to put (redacted) texts back in place. */
export interface TextSlots {
  units: TextUnit[];
  write(texts: readonly string[]): void;
}

/** Reads a request's texts: chat message contents (strings and text parts), prompts, embedding inputs. */
export function requestSlots(op: Operation, request: CanonicalRequest): TextSlots {
  const setters: ((text: string) => void)[] = [];
  const units: TextUnit[] = [];
  const add = (text: string, role: string | undefined, set: (text: string) => void) => {
    units.push({ text, role });
    setters.push(set);
  };
  if (op === 'chat') {
    for (const message of (request as ChatRequest).messages) {
      const content = message.content;
      if (typeof content === 'string') add(content, message.role, (t) => (message.content = t));
      else if (Array.isArray(content)) {
        for (const part of content) {
          if (part.type === 'text' && typeof part.text === 'string') {
            add(part.text, message.role, (t) => (part.text = t));
          }
        }
      }
      addToolArguments(message.tool_calls, message.role, add);
    }
  } else {
    const holder = request as CompletionsRequest & EmbeddingsRequest;
    const key = op === 'completions' ? 'prompt' : 'input';
    const value = holder[key] as unknown;
    if (typeof value === 'string')
      add(value, undefined, (t) => ((holder as Record<string, unknown>)[key] = t));
    else if (Array.isArray(value)) {
      value.forEach((item, index) => {
        if (typeof item === 'string') add(item, undefined, (t) => (value[index] = t));
      });
    }
  }
  return { units, write: (texts) => texts.forEach((text, i) => setters[i](text)) };
}

/** Reads a completion's texts: chat message contents and completion texts, one per choice. */
export function responseSlots(op: Operation, response: CanonicalResponse): TextSlots {
  const setters: ((text: string) => void)[] = [];
  const units: TextUnit[] = [];
  if (op === 'chat') {
    for (const choice of (response as ChatCompletion).choices) {
      if (typeof choice.message.content === 'string') {
        units.push({ text: choice.message.content, role: 'assistant' });
        setters.push((t) => (choice.message.content = t));
      }
      addToolArguments(choice.message.tool_calls, 'assistant', (text, role, set) => {
        units.push({ text, role });
        setters.push(set);
      });
    }
  } else if (op === 'completions') {
    for (const choice of (response as TextCompletion).choices) {
      units.push({ text: choice.text });
      setters.push((t) => (choice.text = t));
    }
  }
  return { units, write: (texts) => texts.forEach((text, i) => setters[i](text)) };
}

/**
 * Tool-call arguments are text the model wrote (or a client replays): PII and deny lists apply to them
 * as to content. They are JSON strings; masks and placeholders contain no quotes or backslashes, so a
 * redacted argument string stays valid JSON.
 */
function addToolArguments(
  calls: ChatMessage['tool_calls'],
  role: string | undefined,
  add: (text: string, role: string | undefined, set: (text: string) => void) => void,
): void {
  if (!Array.isArray(calls)) return;
  for (const call of calls) {
    const fn = call?.function;
    if (fn && typeof fn.arguments === 'string' && fn.arguments.length > 0) {
      add(fn.arguments, role, (t) => (fn.arguments = t));
    }
  }
}

/** A deep copy, so redaction never mutates the parsed body another component may still hold. */
export function cloneRequest<T extends CanonicalRequest>(request: T): T {
  return structuredClone(request);
}

/** At most this many string cells of one scoring payload are screened (a bound on work per request). */
export const MAX_SCORING_CELLS = 10_000;

/**
 * Reads a scoring payload's texts (MLflow scoring protocol): every string cell of `dataframe_split`,
 * `dataframe_records`, `instances` or `inputs`, wherever it sits in the JSON, up to MAX_SCORING_CELLS; a
 * CSV payload is one text. `params` are settings, not data, and are not screened.
 */
export function scoringSlots(payload: { csv: string } | { json: unknown }): TextSlots {
  if ('csv' in payload) {
    const holder = payload;
    return { units: [{ text: holder.csv }], write: ([text]) => (holder.csv = text) };
  }
  const setters: ((text: string) => void)[] = [];
  const units: TextUnit[] = [];
  const visit = (container: Record<string, unknown> | unknown[], key: string | number): void => {
    if (units.length >= MAX_SCORING_CELLS) return;
    const value = (container as Record<string | number, unknown>)[key];
    if (typeof value === 'string') {
      units.push({ text: value });
      setters.push((t) => ((container as Record<string | number, unknown>)[key] = t));
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value, i);
    } else if (value !== null && typeof value === 'object') {
      for (const k of Object.keys(value)) visit(value as Record<string, unknown>, k);
    }
  };
  const body = payload.json;
  if (body !== null && typeof body === 'object') {
    for (const key of Object.keys(body)) if (key !== 'params') visit(body as Record<string, unknown>, key);
  }
  return { units, write: (texts) => texts.forEach((text, i) => setters[i](text)) };
}
