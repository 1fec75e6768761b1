import { Inject, Injectable, Logger } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { principalOf } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { fitContext, summaryMessage } from 'src/modules/conversations/context-fitter';
import { ConversationSettings } from 'src/modules/conversations/conversation-settings.config';
import { ConversationException } from 'src/modules/conversations/conversation.exception';
import { CONVERSATION_ID, ownerOf } from 'src/modules/conversations/conversation-owner';
import { ConversationOwner, ConversationRepository } from 'src/modules/conversations/conversation.repository';
import { DEFAULT_WINDOW_TOKENS, knownWindow } from 'src/modules/conversations/model-windows';
import { ConversationSummarizer } from 'src/modules/conversations/conversation-summarizer';
import { TokenCounter } from 'src/modules/conversations/token-counter';
import {
  CanonicalChunk,
  CanonicalResponse,
  ChatCompletion,
  ChatMessage,
  ChatRequest,
} from 'src/modules/providers/provider-adapter';
import { EndpointEntry } from 'src/modules/routing/route-table';

const DEFAULT_SETTINGS: ConversationSettings = {
  strategy: 'truncate',
  summarizerEndpoint: null,
  windowTokens: null,
  reserveTokens: 256,
  summaryMaxTokens: 256,
};

const SYSTEM_ROLES = new Set(['system', 'developer']);

/** What a request with a conversation id needs after the upstream answered. */
export interface ConversationSession {
  /** Stores the caller's new messages and the reply (non-streaming responses). */
  complete(response: CanonicalResponse): Promise<void>;
  /** Passes a stream through and stores the reply once it completed. */
  track(chunks: AsyncIterable<CanonicalChunk>): AsyncGenerator<CanonicalChunk>;
}

interface PendingSave {
  owner: ConversationOwner;
  externalId: string;
  endpoint: string;
  systemMessages: ChatMessage[];
  summary: string | null;
  summarizedThrough: number;
  latest: ChatMessage[];
}

/**
 * Stateful conversations and token discipline for chat requests. Only requests that carry a conversation
 * id touch the database (one read of the conversation and its unsummarised turns, one write after the
 * reply); endpoints with a `gatehouse.conversation` block also get window checks on stateless requests.
 */
@Injectable()
export class ConversationService {
  private readonly logger = new Logger('Conversations');

  constructor(
    private readonly repository: ConversationRepository,
    private readonly tokens: TokenCounter,
    private readonly summarizer: ConversationSummarizer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Prepares `request` in place: strips `conversation_id`, prepends the stored context fitted to the
   * window, clamps `max_tokens`. Throws `context_length_exceeded` (400) before any upstream call when the
   * system prompt and the new messages cannot fit.
   */
  async prepare(
    endpoint: EndpointEntry,
    request: ChatRequest,
    reply: FastifyReply,
  ): Promise<ConversationSession | undefined> {
    const externalId = conversationIdOf(request, reply);
    if (externalId === undefined && !endpoint.conversation) return undefined;
    const settings = endpoint.conversation ?? DEFAULT_SETTINGS;
    const window = settings.windowTokens ?? knownWindow(endpoint.modelName) ?? DEFAULT_WINDOW_TOKENS;
    const requested = request.max_completion_tokens ?? request.max_tokens;
    const reserve = Math.min(requested ?? settings.reserveTokens, settings.reserveTokens);
    const budget = window - reserve;
    const counter = await this.tokens.counterFor(tokenizerFor(endpoint));

    const own = request.messages;
    if (externalId === undefined) {
      const fit = fitContext({
        system: [],
        summary: null,
        history: [],
        latest: own,
        budget,
        summaryReserve: 0,
        counter,
      });
      if (!fit.fits) throw ConversationException.contextLengthExceeded(fit.tokens, budget, window);
      clampMaxTokens(request, window - fit.tokens);
      void reply.header('x-gatehouse-context-tokens', String(fit.tokens));
      return undefined;
    }

    const owner = ownerOf(principalOf(reply.request));
    const stored = await this.repository.find(owner.scope, externalId);
    const history = stored
      ? await this.repository.turns(
          stored.id,
          stored.summarizedThrough,
          this.config.CONVERSATION_MAX_HISTORY_TURNS,
        )
      : [];
    const callerSystem = own.filter((m) => SYSTEM_ROLES.has(m.role));
    const system = callerSystem.length > 0 ? callerSystem : (stored?.systemMessages ?? []);
    const latest = own.filter((m) => !SYSTEM_ROLES.has(m.role));
    const summarize = settings.strategy === 'summarize' && settings.summarizerEndpoint !== null;
    let summary = stored?.summary ?? null;
    let summarizedThrough = stored?.summarizedThrough ?? 0;
    const turns = history.map((t) => t.message);

    const fit = fitContext({
      system,
      summary: summary === null ? null : summaryMessage(summary),
      history: turns,
      latest,
      budget,
      summaryReserve: summarize ? settings.summaryMaxTokens : 0,
      counter,
    });
    if (!fit.fits) throw ConversationException.contextLengthExceeded(fit.tokens, budget, window);
    if (summarize && fit.keepFrom > 0) {
      summary = await this.summarizer.summarize(
        settings.summarizerEndpoint as string,
        summary,
        turns.slice(0, fit.keepFrom),
        settings.summaryMaxTokens,
        counter,
      );
      summarizedThrough = history[fit.keepFrom - 1].seq;
    }
    const messages = [
      ...system,
      ...(summary === null ? [] : [summaryMessage(summary)]),
      ...turns.slice(fit.keepFrom),
      ...latest,
    ];
    request.messages = messages;
    const promptTokens = counter.messages(messages);
    clampMaxTokens(request, window - promptTokens);
    void reply.header('x-gatehouse-conversation-id', externalId);
    void reply.header('x-gatehouse-context-tokens', String(promptTokens));
    void reply.header('x-gatehouse-context-turns', String(turns.length - fit.keepFrom));
    return this.session({
      owner,
      externalId,
      endpoint: endpoint.name,
      systemMessages: system,
      summary,
      summarizedThrough,
      latest,
    });
  }

  private session(pending: PendingSave): ConversationSession {
    const save = (assistant: ChatMessage) =>
      this.repository.append({
        owner: pending.owner,
        externalId: pending.externalId,
        endpoint: pending.endpoint,
        systemMessages: pending.systemMessages,
        summary: pending.summary,
        summarizedThrough: pending.summarizedThrough,
        turns: [...pending.latest, assistant],
        expiresAt: new Date(Date.now() + this.config.CONVERSATION_RETENTION_SECONDS * 1000),
      });
    const logger = this.logger;
    return {
      complete: async (response) => {
        const choice = (response as ChatCompletion).choices?.find((c) => c.index === 0);
        if (!choice) return;
        const { role, content, tool_calls } = choice.message;
        await save({
          role: role || 'assistant',
          content: content ?? null,
          ...(tool_calls ? { tool_calls } : {}),
        });
      },
      async *track(chunks) {
        let text = '';
        for await (const chunk of chunks) {
          if (chunk.object === 'chat.completion.chunk') {
            const delta = chunk.choices.find((c) => c.index === 0)?.delta;
            if (typeof delta?.content === 'string') text += delta.content;
          }
          yield chunk;
        }
        try {
          await save({ role: 'assistant', content: text });
        } catch (error) {
          logger.error(`conversation turn not saved: ${error instanceof Error ? error.message : 'error'}`);
        }
      },
    };
  }
}

function tokenizerFor(endpoint: EndpointEntry) {
  return TokenCounter.choose(endpoint.provider, endpoint.modelName);
}

/** The id from `x-gatehouse-conversation-id` or the body's `conversation_id` (removed before the upstream call). */
function conversationIdOf(request: ChatRequest, reply: FastifyReply): string | undefined {
  const header = reply.request.headers['x-gatehouse-conversation-id'];
  const fromBody = request.conversation_id;
  delete request.conversation_id;
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromBody !== undefined && fromBody !== null && typeof fromBody !== 'string') {
    throw ConversationException.badId("'conversation_id' must be a string.");
  }
  if (fromHeader !== undefined && typeof fromBody === 'string' && fromHeader !== fromBody) {
    throw ConversationException.badId('The conversation id in the header and in the body differ.');
  }
  const id = fromHeader ?? fromBody ?? undefined;
  if (id !== undefined && !CONVERSATION_ID.test(id)) {
    throw ConversationException.badId('A conversation id is 1 to 128 characters from A-Z a-z 0-9 . _ : -');
  }
  return id;
}

function clampMaxTokens(request: ChatRequest, left: number): void {
  const room = Math.max(1, left);
  if (typeof request.max_tokens === 'number' && request.max_tokens > room) request.max_tokens = room;
  if (typeof request.max_completion_tokens === 'number' && request.max_completion_tokens > room) {
    request.max_completion_tokens = room;
  }
}
