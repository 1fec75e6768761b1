import { ChatMessage } from 'src/modules/providers/provider-adapter';
import { MessageCounter } from 'src/modules/tokens/token-counter';

export interface FitInput {
  /** System/developer messages: always kept. */
  system: ChatMessage[];
  /** A running-summary message to send, if any (its tokens are counted unless `summaryReserve` covers it). */
  summary: ChatMessage | null;
  /** Stored turns, oldest first. */
  history: ChatMessage[];
  /** The caller's new messages: always kept. */
  latest: ChatMessage[];
  /** Tokens the prompt may use (window minus the room kept for the reply). */
  budget: number;
  /** Tokens set aside for a summary still to be written (summarize strategy); 0 otherwise. */
  summaryReserve: number;
  counter: MessageCounter;
}

export type FitResult = { fits: true; keepFrom: number; tokens: number } | { fits: false; tokens: number };

/**
 * Keeps the system prompt and the caller's new messages, then as many of the latest stored turns as the
 * budget allows. Turns before `keepFrom` are dropped (truncate) or summarised (summarize). A kept
 * history never starts with a tool result whose assistant tool call was dropped.
 */
export function fitContext(input: FitInput): FitResult {
  const { counter } = input;
  const summaryTokens =
    input.summaryReserve > 0
      ? input.summaryReserve + SUMMARY_OVERHEAD
      : input.summary
        ? counter.message(input.summary)
        : 0;
  let tokens = counter.messages([...input.system, ...input.latest]) + summaryTokens;
  if (tokens > input.budget) return { fits: false, tokens };
  let keepFrom = input.history.length;
  for (let i = input.history.length - 1; i >= 0; i--) {
    const cost = counter.message(input.history[i]);
    if (tokens + cost > input.budget) break;
    tokens += cost;
    keepFrom = i;
  }
  while (keepFrom < input.history.length && input.history[keepFrom].role === 'tool') {
    tokens -= counter.message(input.history[keepFrom]);
    keepFrom++;
  }
  return { fits: true, keepFrom, tokens };
}

/** Message overhead and the "Summary of the earlier conversation" preamble around a summary. */
export const SUMMARY_OVERHEAD = 16;
export const SUMMARY_PREAMBLE = 'Summary of the earlier conversation:\n';

export function summaryMessage(summary: string): ChatMessage {
  return { role: 'system', content: `${SUMMARY_PREAMBLE}${summary}` };
}
