import { Injectable } from '@nestjs/common';
import { AdminActor } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import { KnowledgeEmbedder } from 'src/modules/knowledge/knowledge-embedder';
import { KnowledgeException } from 'src/modules/knowledge/knowledge.exception';
import { ChunkHit, KnowledgeBaseRow, KnowledgeRepository } from 'src/modules/knowledge/knowledge.repository';
import { VectorSupport } from 'src/modules/knowledge/vector-support.service';
import { InvocationParent } from 'src/modules/pipeline/internal-invocations.service';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { RoutingService } from 'src/modules/routing/routing.service';

export interface KnowledgeBaseView {
  name: string;
  description: string | null;
  ownerTeamId: string | null;
  embeddingEndpoint: string;
  dimensions: number | null;
  chunkSize: number;
  chunkOverlap: number;
  documents: number;
  chunks: number;
  createdAt: string;
  updatedAt: string;
}

export interface CreateKnowledgeBase {
  name: string;
  description?: string | null;
  embeddingEndpoint: string;
  chunkSize?: number;
  chunkOverlap?: number;
  ownerTeamId?: string | null;
}

export interface UpdateKnowledgeBase {
  description?: string | null;
  chunkSize?: number;
  chunkOverlap?: number;
}

export interface SearchInput {
  query: string;
  topK: number;
  filter?: Record<string, unknown>;
  hybrid?: boolean;
}

export interface SearchResultView {
  knowledgeBase: string;
  results: {
    documentId: string;
    chunk: number;
    score: number;
    similarity: number;
    text: string;
    metadata: Record<string, unknown>;
  }[];
}

export const DEFAULT_CHUNK_SIZE = 1_000;
export const DEFAULT_CHUNK_OVERLAP = 100;
const SEARCH_TIMEOUT_MS = 60_000;

/**
 * Knowledge bases: the admin catalogue (TenancyPolicy ownership, every write audited), ingestion
 * (chunked, embedded through the gateway's own embeddings endpoint under the caller, stored per
 * document) and search (top-k cosine, metadata filter, optional hybrid with full-text).
 */
@Injectable()
export class KnowledgeService {
  constructor(
    private readonly repository: KnowledgeRepository,
    private readonly vectors: VectorSupport,
    private readonly embedder: KnowledgeEmbedder,
    private readonly routing: RoutingService,
    private readonly audit: AuditService,
    private readonly routes: RouteConfigService,
  ) {}

  async list(actor: AdminActor): Promise<KnowledgeBaseView[]> {
    this.vectors.assertReady();
    const rows = TenancyPolicy.visible(actor.principal, await this.repository.all(), (kb) => kb.ownerTeamId);
    return Promise.all(rows.map((kb) => this.view(kb)));
  }

  async get(actor: AdminActor, name: string): Promise<KnowledgeBaseView> {
    return this.view(await this.readable(actor.principal, name));
  }

  async create(actor: AdminActor, input: CreateKnowledgeBase): Promise<KnowledgeBaseView> {
    this.vectors.assertReady();
    const ownerTeamId = TenancyPolicy.ownerForNew(actor.principal, input.ownerTeamId);
    this.checkEmbeddingEndpoint(input.embeddingEndpoint, actor.principal, ownerTeamId);
    const chunkSize = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const chunkOverlap = input.chunkOverlap ?? Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(chunkSize / 4));
    checkChunking(chunkSize, chunkOverlap);
    const kb = await this.audit.write(actor, async (manager) => {
      if (await this.repository.findByName(input.name, manager)) {
        throw KnowledgeException.conflict(
          `The knowledge base name '${input.name}' is taken; choose another.`,
        );
      }
      const row = await this.repository.insert(
        {
          name: input.name,
          description: input.description ?? null,
          ownerTeamId,
          embeddingEndpoint: input.embeddingEndpoint,
          dimensions: null,
          chunkSize,
          chunkOverlap,
        },
        manager,
      );
      return {
        result: row,
        event: {
          action: 'knowledge_base.create',
          targetType: 'knowledge_base',
          targetId: row.name,
          after: auditView(row),
          teamId: ownerTeamId,
        },
      };
    });
    return this.view(kb);
  }

  async update(actor: AdminActor, name: string, input: UpdateKnowledgeBase): Promise<KnowledgeBaseView> {
    const kb = await this.changeable(actor.principal, name);
    const next = {
      description: input.description !== undefined ? input.description : kb.description,
      chunkSize: input.chunkSize ?? kb.chunkSize,
      chunkOverlap: input.chunkOverlap ?? kb.chunkOverlap,
    };
    checkChunking(next.chunkSize, next.chunkOverlap);
    const row = await this.audit.write(actor, async (manager) => {
      const updated = await this.repository.update(kb.id, next, manager);
      return {
        result: updated,
        event: {
          action: 'knowledge_base.update',
          targetType: 'knowledge_base',
          targetId: kb.name,
          before: auditView(kb),
          after: auditView(updated),
          teamId: kb.ownerTeamId,
        },
      };
    });
    return this.view(row);
  }

  async remove(actor: AdminActor, name: string): Promise<void> {
    const kb = await this.changeable(actor.principal, name);
    await this.audit.write(actor, async (manager) => {
      await this.repository.remove(kb, manager);
      return {
        result: undefined,
        event: {
          action: 'knowledge_base.delete',
          targetType: 'knowledge_base',
          targetId: kb.name,
          before: auditView(kb),
          teamId: kb.ownerTeamId,
        },
      };
    });
  }

  async deleteDocument(actor: AdminActor, name: string, documentId: string): Promise<void> {
    const kb = await this.changeable(actor.principal, name);
    await this.audit.write(actor, async (manager) => {
      if (!(await this.repository.deleteDocument(kb.id, documentId, manager))) {
        throw new KnowledgeException(
          404,
          KnowledgeException.notFound(name).code,
          `No document '${documentId}' in knowledge base '${kb.name}'.`,
        );
      }
      return {
        result: undefined,
        event: {
          action: 'knowledge_base.documents.delete',
          targetType: 'knowledge_base',
          targetId: kb.name,
          before: { document: documentId },
          teamId: kb.ownerTeamId,
        },
      };
    });
  }

  /** `POST /v1/knowledge-bases/{kb}/search`: the caller's own or a global knowledge base. */
  async search(actor: AdminActor, name: string, input: SearchInput): Promise<SearchResultView> {
    const kb = await this.readable(actor.principal, name);
    const parent: InvocationParent = { requestId: actor.requestId, principal: actor.principal };
    const hits = await this.retrieve(parent, kb, input, AbortSignal.timeout(SEARCH_TIMEOUT_MS));
    return {
      knowledgeBase: kb.name,
      results: hits.map((h) => ({
        documentId: h.documentId,
        chunk: h.chunkIndex,
        score: h.score,
        similarity: h.similarity,
        text: h.content,
        metadata: h.metadata,
      })),
    };
  }

  /** The knowledge base a RAG endpoint names (configured by an operator; the caller's grant is on the endpoint). */
  /**
   * The knowledge base a RAG endpoint of team `owner` (null: global) names; another team's is treated
   * as missing, should a name the endpoint bound have been deleted and taken by another team since.
   */
  async forRag(name: string, owner: string | null): Promise<KnowledgeBaseRow> {
    this.vectors.assertReady();
    const kb = await this.repository.findByName(name);
    if (!kb || (owner !== null && kb.ownerTeamId !== null && kb.ownerTeamId !== owner)) {
      throw KnowledgeException.notFound(name);
    }
    return kb;
  }

  /** Embeds the query as the parent's caller and searches. */
  async retrieve(
    parent: InvocationParent,
    kb: KnowledgeBaseRow,
    input: SearchInput,
    signal: AbortSignal,
  ): Promise<ChunkHit[]> {
    if (kb.dimensions === null) return [];
    const [embedding] = await this.embedder.embed(
      parent,
      'kb_query',
      kb.embeddingEndpoint,
      [input.query],
      signal,
    );
    if (embedding.length !== kb.dimensions) {
      throw KnowledgeException.badEmbeddings(
        `The embeddings endpoint returned a ${embedding.length}-dimensional query vector; knowledge base '${kb.name}' holds ${kb.dimensions}-dimensional ones.`,
      );
    }
    return this.repository.search(kb, {
      embedding,
      text: input.query,
      topK: input.topK,
      filter: input.filter,
      hybrid: input.hybrid ?? false,
    });
  }

  /**
   * A knowledge base embeds through an embeddings endpoint of the gateway with that endpoint's
   * credentials: a non-admin may name a global one or its own team's (another team's is answered like a
   * missing one, as it would spend that team's provider key).
   */
  private checkEmbeddingEndpoint(name: string, principal: Principal, owner: string | null): void {
    const entry = this.routing.resolve(name);
    const endpointOwner = entry ? this.routes.ownerOf(name) : null;
    const foreign = !TenancyPolicy.isAdmin(principal) && endpointOwner !== null && endpointOwner !== owner;
    if (!entry || entry.endpointType !== 'llm/v1/embeddings' || foreign) {
      throw KnowledgeException.invalid(
        `'${name.slice(0, 128)}' is not an embeddings endpoint or route of this gateway.`,
        'embeddingEndpoint',
      );
    }
  }

  private async readable(principal: Principal, name: string): Promise<KnowledgeBaseRow> {
    this.vectors.assertReady();
    const kb = await this.repository.findByName(name);
    if (!kb || !TenancyPolicy.canRead(principal, kb.ownerTeamId)) throw KnowledgeException.notFound(name);
    return kb;
  }

  /** The knowledge base `name`, if the principal may change it (else 404 / 403 as for any change). */
  async changeable(principal: Principal, name: string): Promise<KnowledgeBaseRow> {
    const kb = await this.readable(principal, name);
    TenancyPolicy.assertChange(principal, kb.ownerTeamId, `knowledge base '${kb.name}'`);
    return kb;
  }

  private async view(kb: KnowledgeBaseRow): Promise<KnowledgeBaseView> {
    const stats = await this.repository.stats(kb.id);
    return {
      name: kb.name,
      description: kb.description,
      ownerTeamId: kb.ownerTeamId,
      embeddingEndpoint: kb.embeddingEndpoint,
      dimensions: kb.dimensions,
      chunkSize: kb.chunkSize,
      chunkOverlap: kb.chunkOverlap,
      documents: stats.documents,
      chunks: stats.chunks,
      createdAt: kb.createdAt.toISOString(),
      updatedAt: kb.updatedAt.toISOString(),
    };
  }
}

function checkChunking(chunkSize: number, chunkOverlap: number): void {
  if (chunkOverlap >= chunkSize / 2) {
    throw KnowledgeException.invalid('chunkOverlap must be less than half of chunkSize.', 'chunkOverlap');
  }
}

function auditView(kb: KnowledgeBaseRow): Record<string, unknown> {
  return {
    name: kb.name,
    embeddingEndpoint: kb.embeddingEndpoint,
    chunkSize: kb.chunkSize,
    chunkOverlap: kb.chunkOverlap,
    ownerTeamId: kb.ownerTeamId,
  };
}
