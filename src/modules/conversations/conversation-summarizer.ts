import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { MessageCounter } from 'src/modules/conversations/token-counter';
import { ChatCompletion, ChatMessage } from 'src/modules/providers/provider-adapter';
import { RouteTable } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';

export const SUMMARIZER_INSTRUCTIONS =
  'You maintain the running summary of a conversation between a user and an assistant. Merge the summary ' +
  'so far with the new turns into one concise summary that keeps names, facts, decisions and open ' +
  'questions. Reply with the summary only.';

/** Longest text taken from one turn into the summariser's transcript. */
const TURN_CHARS = 4_000;
const SUMMARY_TIMEOUT_MS = 60_000;

/** Writes running summaries through the gateway's own routing (any chat endpoint or traffic route). */
@Injectable()
export class ConversationSummarizer {
  constructor(private readonly routing: RoutingService) {}

  async summarize(
    endpointName: string,
    previous: string | null,
    turns: ChatMessage[],
    maxTokens: number,
    counter: MessageCounter,
  ): Promise<string> {
    const entry = this.routing.resolve(endpointName);
    if (!entry || entry.endpointType !== 'llm/v1/chat') {
      throw new GatewayException(
        503,
        GatewayErrorCode.UpstreamUnavailable,
        'The conversation summariser is not available.',
      );
    }
    const transcript = turns.map((t) => `${t.role}: ${textOf(t).slice(0, TURN_CHARS)}`).join('\n');
    const response = (await this.routing.invoke(
      'chat',
      {
        messages: [
          { role: 'system', content: SUMMARIZER_INSTRUCTIONS },
          { role: 'user', content: `Summary so far:\n${previous ?? '(none)'}\n\nNew turns:\n${transcript}` },
        ],
        max_tokens: maxTokens,
        temperature: 0,
      },
      RouteTable.pick(entry),
      AbortSignal.timeout(SUMMARY_TIMEOUT_MS),
    )) as ChatCompletion;
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
