import { randomBytes } from 'node:crypto';
import type { Principal } from 'src/common/auth/principal';
import type { ResponseOwner } from 'src/modules/responses/stored-response.repository';

/*
 * Items of the Responses API as stored: a turn's input items normalised to OpenAI's item shapes (each
 * with an id, as `input_items` lists them), and the conversation a follow-up continues.
 */

export type Item = Record<string, unknown>;

/** OpenAI-style ids: a prefix and 48 hex digits. */
export function itemId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/**
 * Responses belong to the caller's team when it has one (as OpenAI's belong to a project), else to the
 * principal; callers without a principal (authentication disabled) share one anonymous scope.
 */
export function ownerOf(principal: Principal | undefined): ResponseOwner {
  if (!principal) return { scope: 'anonymous', principalId: null, teamId: null };
  if (principal.teamId)
    return { scope: `team:${principal.teamId}`, principalId: principal.id, teamId: principal.teamId };
  return { scope: `principal:${principal.id}`, principalId: principal.id, teamId: null };
}

const ITEM_PREFIX: Record<string, string> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
};

/**
 * A request's `input` (already validated by the decoder) as input items: a string is one user message;
 * string contents become text parts; items without an id get one.
 */
export function inputItems(input: unknown): Item[] {
  const items: unknown[] =
    typeof input === 'string' ? [{ role: 'user', content: input }] : (input as unknown[]);
  return items.map((raw) => {
    const item: Item = { ...(raw as Item) };
    const type = typeof item.type === 'string' ? item.type : 'message';
    item.type = type;
    if (type === 'message') {
      if (typeof item.content === 'string') {
        const part = item.role === 'assistant' ? 'output_text' : 'input_text';
        item.content = [
          part === 'output_text'
            ? { type: part, text: item.content, annotations: [] }
            : { type: part, text: item.content },
        ];
      }
      item.status ??= 'completed';
    }
    if (typeof item.id !== 'string') item.id = itemId(ITEM_PREFIX[type] ?? 'item');
    return item;
  });
}

/** What a follow-up continues: every item before a response, its input, and its output. */
export function conversationThrough(context: Item[], input: Item[], response: Item): Item[] {
  const output = Array.isArray(response.output) ? (response.output as Item[]) : [];
  // Only what the chat format carries forward: messages and function calls (their outputs come as input).
  return [...context, ...input, ...output.filter((i) => i.type === 'message' || i.type === 'function_call')];
}
