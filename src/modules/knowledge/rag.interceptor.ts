import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { fitContext } from 'src/modules/conversations/context-fitter';
import { DEFAULT_WINDOW_TOKENS, knownWindow } from 'src/modules/conversations/model-windows';
import { KnowledgeService } from 'src/modules/knowledge/knowledge.service';
import { ChunkHit } from 'src/modules/knowledge/knowledge.repository';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { PromptService } from 'src/modules/prompts/prompt.service';
import { CanonicalChunk, ChatCompletion, ChatMessage } from 'src/modules/providers/provider-adapter';
import { TokenCounter } from 'src/modules/tokens/token-counter';

import { RouteConfigService } from 'src/modules/routing/route-config.service';
import type { EndpointEntry } from 'src/modules/routing/route-table';
import type { RagSettings } from 'src/config/extensions/rag-settings.config';
/** A passage the answer was given from: the extension field `citations` of a RAG answer. */
export interface Citation {
  document_id: string;
  chunk: number;
  score: number;
}

/** Tokens kept free for the answer when the request sets no `max_tokens`. */
const DEFAULT_ANSWER_TOKENS = 1_024;

/**
 * RAG endpoints (`gatehouse.rag`), the stage before prompt rendering: the question (the last user
 * message, or `question` on `/ask/{name}`) is embedded through the knowledge base's embeddings endpoint
 * as the caller (limits, budgets, ledger), the top-k passages are retrieved, as many as the model's
 * window allows are kept (best first, by the conversations' context fitter), and the endpoint's template
 * is rendered with `question` and `context`. The LLM call then runs through the rest of the pipeline
 * (validation, limits, guardrails, cache) on the RAG endpoint's own settings; its answer carries
 * `citations` (document id, chunk, score): in the JSON body, or on the first chunk of a stream.
 */
@Injectable()
export class RagInterceptor extends StageInterceptor {
  constructor(
    private readonly knowledge: KnowledgeService,
    private readonly prompts: PromptService,
    private readonly tokens: TokenCounter,
    private readonly routes: RouteConfigService,
  ) {
    super();
  }

  // Not async: a request to an endpoint that is not a RAG endpoint (nearly all of them) passes through
  // without a promise of its own.
  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    const endpoint = ctx.endpoint;
    const rag = endpoint?.rag;
    let body = (ctx.body ?? {}) as Record<string, unknown>;
    if (ctx.ask) body = this.askBody(body);
    if (!endpoint || !rag || ctx.operation !== 'chat') {
      ctx.body = body;
      return next();
    }
    return this.answer(ctx, next, endpoint, rag, body);
  }

  private async answer(
    ctx: InvocationContext,
    next: StageNext,
    endpoint: EndpointEntry,
    rag: RagSettings,
    body: Record<string, unknown>,
  ): Promise<InvocationResult> {
    const { messages, ...rest } = body;
    const text = lastUserText(messages);
    if (!text || text.trim().length === 0) {
      throw GatewayException.invalid('A RAG endpoint needs a question: a user message.', 'messages');
    }
    const owner = this.routes.ownerOf(endpoint.name);
    const kb = await this.knowledge.forRag(rag.knowledgeBase, owner);
    const hits = (
      await this.knowledge.retrieve(
        { requestId: ctx.requestId, principal: ctx.principal, record: ctx.record },
        kb,
        { query: text, topK: rag.topK, hybrid: rag.hybrid },
        ctx.signal,
      )
    ).filter((hit) => hit.similarity >= rag.minScore);
    const kept = await this.fit(ctx, rag.template, text, hits, rest);
    const rendered = this.prompts.render(
      rag.template,
      { ...rest, variables: { question: text, context: contextOf(kept) }, messages: [] },
      owner,
    );
    ctx.body = rendered.body;
    const label = 'label' in rag.template ? rag.template.label : null;
    this.prompts.announce(ctx, endpoint.name, rendered.version, label, 'endpoint');
    ctx.prompt = { template: rendered.version.template, version: rendered.version.version };
    ctx.record.promptVersion = `${rendered.version.template}@${rendered.version.version}`;
    const citations: Citation[] = kept.map((hit) => ({
      document_id: hit.documentId,
      chunk: hit.chunkIndex,
      score: hit.score,
    }));
    ctx.header('x-gatehouse-rag-passages', String(citations.length));
    const result = await next();
    if (result.kind === 'response') {
      return { kind: 'response', response: { ...(result.response as ChatCompletion), citations } };
    }
    if (result.kind === 'stream') return { kind: 'stream', chunks: withCitations(result.chunks, citations) };
    return result;
  }

  /** `/ask/{name}`: `{question, …}` becomes a chat request with the question as its user message. */
  private askBody(body: Record<string, unknown>): Record<string, unknown> {
    const { question, ...rest } = body;
    if (typeof question !== 'string' || question.trim().length === 0) {
      throw GatewayException.invalid("'question' must be a non-empty string.", 'question');
    }
    if (rest.messages !== undefined) {
      throw GatewayException.invalid("Send 'question', not 'messages', to /ask.", 'messages');
    }
    return { ...rest, messages: [{ role: 'user', content: question }] };
  }

  /** The best passages that fit the model's window with the rendered template and the answer's room. */
  private async fit(
    ctx: InvocationContext,
    template: Parameters<PromptService['render']>[0],
    question: string,
    hits: ChunkHit[],
    rest: Record<string, unknown>,
  ): Promise<ChunkHit[]> {
    const endpoint = ctx.endpoint!;
    const counter = await this.tokens.counterFor(TokenCounter.choose(endpoint.provider, endpoint.modelName));
    const window = knownWindow(endpoint.modelName) ?? DEFAULT_WINDOW_TOKENS;
    const answer = Number(rest.max_completion_tokens ?? rest.max_tokens ?? DEFAULT_ANSWER_TOKENS);
    const base = this.prompts.render(template, { variables: { question, context: '' }, messages: [] });
    // The fitter keeps the latest history entries: hand it the passages worst first.
    const passages: ChatMessage[] = hits
      .map((hit, i) => ({ role: 'user', content: passageText(hit, i) }))
      .reverse();
    const fit = fitContext({
      system: [],
      summary: null,
      history: passages,
      latest: base.body.messages as ChatMessage[],
      budget: window - (Number.isFinite(answer) ? answer : DEFAULT_ANSWER_TOKENS),
      summaryReserve: 0,
      counter,
    });
    if (!fit.fits) {
      throw new GatewayException(
        400,
        GatewayErrorCode.ContextLengthExceeded,
        `The question and the RAG template need ${fit.tokens} tokens, more than the model's window leaves.`,
      );
    }
    return hits.slice(0, passages.length - fit.keepFrom);
  }
}

function lastUserText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown } | null;
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (Array.isArray(message.content)) {
      return message.content
        .map((part: { type?: unknown; text?: unknown }) =>
          part?.type === 'text' && typeof part.text === 'string' ? part.text : '',
        )
        .join('\n');
    }
    return undefined;
  }
  return undefined;
}

function passageText(hit: ChunkHit, index: number): string {
  return `[${index + 1}] (${hit.documentId}#${hit.chunkIndex})\n${hit.content}`;
}

function contextOf(hits: ChunkHit[]): string {
  return hits.map(passageText).join('\n\n');
}

async function* withCitations(
  chunks: AsyncGenerator<CanonicalChunk>,
  citations: Citation[],
): AsyncGenerator<CanonicalChunk> {
  let first = true;
  for await (const chunk of chunks) {
    yield first ? { ...chunk, citations } : chunk;
    first = false;
  }
}
