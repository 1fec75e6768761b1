import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { IncomingHttpHeaders } from 'node:http';
import { Principal } from 'src/common/auth/principal';
import { InvocationRecord } from 'src/common/observability/invocation';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { fitContext, summaryMessage } from 'src/modules/conversations/context-fitter';
import { compressList, compressMessages } from 'src/modules/conversations/context-compressor';
import { CONTEXT_FITTED, ContextFittedEvent } from 'src/modules/conversations/conversation.events';
import { ConversationSettings } from 'src/config/extensions/conversation-settings.config';
import { ConversationException } from 'src/modules/conversations/conversation.exception';
import { CONVERSATION_ID, ownerOf } from 'src/modules/conversations/conversation-owner';
import { ConversationOwner, ConversationRepository } from 'src/modules/conversations/conversation.repository';
import { DEFAULT_WINDOW_TOKENS, knownWindow } from 'src/modules/conversations/model-windows';
import { ConversationSummarizer } from 'src/modules/conversations/conversation-summarizer';
import { TokenCounter } from 'src/modules/tokens/token-counter';
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
  compress: false,
};

const SYSTEM_ROLES = new Set(['system', 'developer']);

/** What a request with a conversation id needs after the upstream answered. */
/** Who a request is fitted for: its conversation id header, its owner, and where headers go. */
export interface ConversationCaller {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  readonly record?: InvocationRecord;
  readonly headers: IncomingHttpHeaders;
  header(name: string, value: string): void;
}

export interface ConversationSession {
  /** The caller's conversation id. */
  readonly id: string;
  /** Stores the caller's new messages and the reply (non-streaming responses). */
  complete(response: CanonicalResponse): Promise<void>;
  /** Passes a stream through and stores the reply once it completed. */
  track(chunks: AsyncIterable<CanonicalChunk>): AsyncGenerator<CanonicalChunk>;
}

interface Fitted {
  endpoint: EndpointEntry;
  conversationId: string | null;
  promptTokens: number;
  window: number;
  droppedTurns: number;
  summarized: boolean;
  saved: number;
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
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Prepares `request` in place: strips `conversation_id`, prepends the stored context fitted to the
   * window, clamps `max_tokens`. Throws `context_length_exceeded` (400) before any upstream call when the
   * system prompt and the new messages cannot fit.
   */
  /**
   * Whether `prepare` has anything to do: the endpoint keeps conversations, or the request names one.
   * Only looks: `prepare` reads, checks and strips the id.
   */
  applies(endpoint: EndpointEntry, request: ChatRequest, caller: ConversationCaller): boolean {
    return (
      !!endpoint.conversation ||
      request.conversation_id !== undefined ||
      caller.headers['x-gatehouse-conversation-id'] !== undefined
    );
  }

  async prepare(
    endpoint: EndpointEntry,
    request: ChatRequest,
    caller: ConversationCaller,
  ): Promise<ConversationSession | undefined> {
    const externalId = conversationIdOf(request, caller.headers);
    if (externalId === undefined && !endpoint.conversation) return undefined;
    const settings = endpoint.conversation ?? DEFAULT_SETTINGS;
    const window = settings.windowTokens ?? knownWindow(endpoint.modelName) ?? DEFAULT_WINDOW_TOKENS;
    const requested = request.max_completion_tokens ?? request.max_tokens;
    const reserve = Math.min(requested ?? settings.reserveTokens, settings.reserveTokens);
    const budget = window - reserve;
    const counter = await this.tokens.counterFor(tokenizerFor(endpoint));

    const own = request.messages;
    const squeeze = settings.compress
      ? (messages: ChatMessage[]) => compressMessages(messages)
      : (messages: ChatMessage[]) => messages;
    if (externalId === undefined) {
      const sent = squeeze(own);
      const fit = fitContext({
        system: [],
        summary: null,
        history: [],
        latest: sent,
        budget,
        summaryReserve: 0,
        counter,
      });
      if (!fit.fits) throw ConversationException.contextLengthExceeded(fit.tokens, budget, window);
      request.messages = sent;
      const saved = sent === own ? 0 : counter.messages(own) - fit.tokens;
      this.report(caller, {
        endpoint,
        conversationId: null,
        promptTokens: fit.tokens,
        window,
        droppedTurns: 0,
        summarized: false,
        saved,
      });
      clampMaxTokens(request, window - fit.tokens);
      return undefined;
    }

    const owner = ownerOf(caller.principal);
    const stored = await this.repository.find(owner.scope, externalId);
    const loaded = stored
      ? await this.repository.turns(
          stored.id,
          stored.summarizedThrough,
          this.config.CONVERSATION_MAX_HISTORY_TURNS,
        )
      : [];
    const callerSystem = own.filter((m) => SYSTEM_ROLES.has(m.role));
    const system = callerSystem.length > 0 ? callerSystem : (stored?.systemMessages ?? []);
    const latest = own.filter((m) => !SYSTEM_ROLES.has(m.role));
    // What is sent may be compressed; what is stored is what the caller sent.
    const history = settings.compress
      ? compressList(
          loaded,
          (t) => t.message,
          (t, message) => ({ ...t, message }),
        )
      : loaded;
    const sentSystem = squeeze(system);
    const sentLatest = squeeze(latest);
    const turns = history.map((t) => t.message);
    const summarize = settings.strategy === 'summarize' && settings.summarizerEndpoint !== null;
    let summary = stored?.summary ?? null;
    let summarizedThrough = stored?.summarizedThrough ?? 0;

    const fit = fitContext({
      system: sentSystem,
      summary: summary === null ? null : summaryMessage(summary),
      history: turns,
      latest: sentLatest,
      budget,
      summaryReserve: summarize ? settings.summaryMaxTokens : 0,
      counter,
    });
    if (!fit.fits) throw ConversationException.contextLengthExceeded(fit.tokens, budget, window);
    let summarized = false;
    if (summarize && fit.keepFrom > 0) {
      try {
        summary = await this.summarizer.summarize(
          { requestId: caller.requestId, principal: caller.principal, record: caller.record },
          settings.summarizerEndpoint as string,
          summary,
          turns.slice(0, fit.keepFrom),
          settings.summaryMaxTokens,
          counter,
        );
        summarizedThrough = history[fit.keepFrom - 1].seq;
        summarized = true;
      } catch (error) {
        // The conversation goes on without the older turns (truncation); the next request tries again.
        const reason = error instanceof Error ? error.message : 'error';
        this.logger.warn(`summariser '${settings.summarizerEndpoint}' failed, truncating instead: ${reason}`);
      }
    }
    const messages = [
      ...sentSystem,
      ...(summary === null ? [] : [summaryMessage(summary)]),
      ...turns.slice(fit.keepFrom),
      ...sentLatest,
    ];
    request.messages = messages;
    const promptTokens = counter.messages(messages);
    const saved = settings.compress
      ? counter.messages([...system, ...loaded.map((t) => t.message), ...latest]) -
        counter.messages([...sentSystem, ...turns, ...sentLatest])
      : 0;
    clampMaxTokens(request, window - promptTokens);
    caller.header('x-gatehouse-conversation-id', externalId);
    caller.header('x-gatehouse-context-turns', String(turns.length - fit.keepFrom));
    this.report(caller, {
      endpoint,
      conversationId: externalId,
      promptTokens,
      window,
      droppedTurns: fit.keepFrom,
      summarized,
      saved,
    });
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

  private report(caller: ConversationCaller, fitted: Fitted): void {
    caller.header('x-gatehouse-context-tokens', String(fitted.promptTokens));
    if (fitted.saved > 0) caller.header('x-gatehouse-tokens-saved', String(fitted.saved));
    this.events.emit(
      CONTEXT_FITTED,
      new ContextFittedEvent(
        caller.requestId,
        fitted.endpoint.name,
        fitted.conversationId,
        fitted.promptTokens,
        fitted.window,
        fitted.droppedTurns,
        fitted.summarized,
        fitted.saved,
      ),
    );
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
      id: pending.externalId,
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
function conversationIdOf(request: ChatRequest, headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-gatehouse-conversation-id'];
  const fromBody = request.conversation_id;
  if (fromBody !== undefined) delete request.conversation_id;
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
