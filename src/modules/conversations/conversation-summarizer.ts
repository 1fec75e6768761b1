import { Injectable } from '@nestjs/common';
import { MessageCounter } from 'src/modules/tokens/token-counter';
import { ChatMessage } from 'src/modules/providers/provider-adapter';
import { InternalInvocations, InvocationParent } from 'src/modules/pipeline/internal-invocations.service';

export const SUMMARIZER_INSTRUCTIONS =
  'You maintain the running summary of a conversation between a user and an assistant. Merge the summary ' +
  'so far with the new turns into one concise summary that keeps names, facts, decisions and open ' +
  'questions. Reply with the summary only.';

/** Longest text taken from one turn into the summariser's transcript. */
const TURN_CHARS = 4_000;
const SUMMARY_TIMEOUT_MS = 60_000;

/**
 * Writes running summaries through the gateway's own pipeline (any chat endpoint or traffic route), on
 * the conversation owner's behalf: their limits and budgets apply, and the call has a ledger row of its
 * own naming the request it served.
 */
@Injectable()
export class ConversationSummarizer {
  constructor(private readonly internal: InternalInvocations) {}

  async summarize(
    parent: InvocationParent,
    endpointName: string,
    previous: string | null,
    turns: ChatMessage[],
    maxTokens: number,
    counter: MessageCounter,
  ): Promise<string> {
    const transcript = turns.map((t) => `${t.role}: ${textOf(t).slice(0, TURN_CHARS)}`).join('\n');
    const response = await this.internal.chat(
      parent,
      'summary',
      endpointName,
      {
        messages: [
          { role: 'system', content: SUMMARIZER_INSTRUCTIONS },
          { role: 'user', content: `Summary so far:\n${previous ?? '(none)'}\n\nNew turns:\n${transcript}` },
        ],
        max_tokens: maxTokens,
        temperature: 0,
      },
      AbortSignal.timeout(SUMMARY_TIMEOUT_MS),
    );
    const text = textOf(response.choices[0]?.message).trim();
    // The summary must fit the room set aside for it, whatever the summariser returned.
    return counter.text(text) > maxTokens ? counter.truncate(text, maxTokens) : text;
  }
}

function textOf(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : `[${p.type}]`))
      .join(' ');
  }
  if (message?.tool_calls) return JSON.stringify(message.tool_calls);
  return '';
}
