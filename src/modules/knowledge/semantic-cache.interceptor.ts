import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { chunksFromResponse, responseFromChunks } from 'src/modules/cache/cache-replay';
import { KnowledgeEmbedder } from 'src/modules/knowledge/knowledge-embedder';
import {
  SEMANTIC_CACHE_LOOKUP,
  SemanticCacheLookupEvent,
  SemanticOutcome,
} from 'src/modules/knowledge/semantic-cache.events';
import { SemanticCacheRepository, SemanticKey } from 'src/modules/knowledge/semantic-cache.repository';
import { VectorSupport } from 'src/modules/knowledge/vector-support.service';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import type { EndpointEntry } from 'src/modules/routing/route-table';
import type { SemanticCacheSettings } from 'src/modules/cache/cache-policy';
import {
  CanonicalChunk,
  CanonicalResponse,
  ChatMessage,
  ChatRequest,
} from 'src/modules/providers/provider-adapter';

/** How far below the threshold a best candidate still counts as a near miss (metric only). */
const NEAR_MISS_BAND = 0.1;
/** Fields that never change an answer's meaning: left out of the parameters that must match. */
const UNKEYED = new Set(['messages', 'stream', 'stream_options', 'user', 'metadata', 'model']);

/**
 * The semantic cache (`gatehouse.cache.semantic`), the stage after the exact-match cache: a chat request
 * whose normalised messages embed within the endpoint's similarity threshold of a cached one, with every
 * other parameter equal, in the same team, is answered from that entry (JSON or replayed as a stream).
 * The embedding is a call on the caller's behalf (limits, ledger). Never for requests with tools, n > 1,
 * conversation turns, or answers a guardrail flagged; off unless configured; skipped without pgvector.
 */
@Injectable()
export class SemanticCacheInterceptor extends StageInterceptor {
  private readonly logger = new Logger('SemanticCache');

  constructor(
    private readonly vectors: VectorSupport,
    private readonly embedder: KnowledgeEmbedder,
    private readonly repository: SemanticCacheRepository,
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  // Not async: a request the semantic cache does not apply to (nearly all of them) passes through
  // without a promise of its own.
  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const endpoint = ctx.endpoint;
    const settings = endpoint?.cache?.semantic;
    const request = ctx.request as ChatRequest | undefined;
    if (
      !endpoint ||
      !settings ||
      !request ||
      ctx.operation !== 'chat' ||
      ctx.model ||
      !this.vectors.ready ||
      ctx.conversationId !== undefined ||
      ctx.answer !== 'upstream' ||
      (request.tools?.length ?? 0) > 0 ||
      (typeof request.n === 'number' && request.n > 1)
    ) {
      return next();
    }
    return this.lookup(ctx, next, endpoint, settings, request);
  }

  private async lookup(
    ctx: InvocationContext,
    next: StageNext,
    endpoint: EndpointEntry,
    settings: SemanticCacheSettings,
    request: ChatRequest,
  ): Promise<InvocationResult> {
    const key: SemanticKey = {
      scope: scopeOf(ctx),
      endpoint: endpoint.name,
      paramsHash: paramsHash(request),
    };
    const [embedding] = await this.embedder.embed(
      { requestId: ctx.requestId, principal: ctx.principal, record: ctx.record },
      'semantic_cache',
      settings.embeddingEndpoint,
      [normalisedMessages(request.messages)],
      ctx.signal,
    );
    const candidate = await this.repository.nearest(key, embedding);
    const similarity = candidate?.similarity;
    const outcome: SemanticOutcome =
      similarity === undefined
        ? 'miss'
        : similarity >= settings.threshold
          ? 'hit'
          : similarity >= settings.threshold - NEAR_MISS_BAND
            ? 'near_miss'
            : 'miss';
    this.events.emit(SEMANTIC_CACHE_LOOKUP, new SemanticCacheLookupEvent(endpoint.name, outcome, similarity));
    ctx.header('x-gatehouse-semantic-cache', outcome === 'hit' ? 'hit' : 'miss');
    if (similarity !== undefined) ctx.header('x-gatehouse-semantic-similarity', similarity.toFixed(4));
    if (outcome === 'hit') {
      ctx.record.cacheHit = true;
      const response = candidate!.response as CanonicalResponse;
      if (!ctx.stream) return { kind: 'response', response };
      return { kind: 'stream', chunks: replay(chunksFromResponse('chat', response)) };
    }
    const result = await next();
    const ttl = endpoint.cache?.ttlSeconds ?? this.config.CACHE_DEFAULT_TTL_SECONDS;
    const store = (response: CanonicalResponse | undefined) => {
      if (!response) return;
      ctx.onFinish(() => {
        if (!ctx.cacheable || ctx.closed) return;
        this.repository.store(key, embedding, response, ttl).catch((error: unknown) => {
          this.logger.warn(
            `could not store an entry: ${error instanceof Error ? error.message : 'unknown error'}`,
          );
        });
      });
    };
    if (result.kind === 'response') store(result.response);
    if (result.kind === 'stream') return { kind: 'stream', chunks: capture(result.chunks, store) };
    return result;
  }
}

/** The text that is embedded: each message's role and text, whitespace collapsed, lower-cased. */
export function normalisedMessages(messages: readonly ChatMessage[]): string {
  return messages
    .map((message) => {
      const content = message.content;
      const text =
        typeof content === 'string'
          ? content
          : Array.isArray(content)
            ? content.map((part) => (part.type === 'text' ? part.text : '')).join(' ')
            : '';
      return `${message.role}: ${text.replace(/\s+/g, ' ').trim().toLowerCase()}`;
    })
    .join('\n');
}

/** Every parameter but the messages (and fields that do not change the answer), canonically hashed. */
export function paramsHash(request: ChatRequest): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  const params = Object.fromEntries(Object.entries(request).filter(([k]) => !UNKEYED.has(k)));
  return createHash('sha256')
    .update(JSON.stringify(canonical(params)))
    .digest('hex');
}

/** Entries are shared within a team; a principal without a team shares with no one. */
function scopeOf(ctx: InvocationContext): string {
  const principal = ctx.principal;
  if (!principal) return 'anonymous';
  return principal.teamId ? `team:${principal.teamId}` : `principal:${principal.id}`;
}

async function* replay(chunks: CanonicalChunk[]): AsyncGenerator<CanonicalChunk> {
  for (const chunk of chunks) yield chunk;
}

async function* capture(
  chunks: AsyncGenerator<CanonicalChunk>,
  store: (response: CanonicalResponse | undefined) => void,
): AsyncGenerator<CanonicalChunk> {
  const seen: CanonicalChunk[] = [];
  for await (const chunk of chunks) {
    seen.push(chunk);
    yield chunk;
  }
  store(responseFromChunks('chat', seen));
}
