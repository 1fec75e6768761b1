import { Injectable } from '@nestjs/common';
import { AdminActor } from 'src/common/auth/admin-actor';
import { EntityManager } from 'typeorm';
import { AuditService } from 'src/modules/audit/audit.service';
import {
  checkDocumentId,
  chunkDocument,
  DocumentFormat,
  parseJsonlDocuments,
  SourceDocument,
} from 'src/modules/knowledge/document-chunker';
import { KnowledgeEmbedder } from 'src/modules/knowledge/knowledge-embedder';
import { KnowledgeException } from 'src/modules/knowledge/knowledge.exception';
import { KnowledgeBaseRow, KnowledgeRepository, NewChunk } from 'src/modules/knowledge/knowledge.repository';
import { KnowledgeService } from 'src/modules/knowledge/knowledge.service';
import { InvocationParent } from 'src/modules/pipeline/internal-invocations.service';

export interface IngestInput {
  id?: string;
  format: DocumentFormat | 'jsonl';
  content: string;
  metadata?: Record<string, unknown>;
  /**
   * Leave the knowledge base without its vector index after this upload (searches scan its chunks
   * exactly) until `POST …/index` builds it: a bulk load of many uploads then pays for one build.
   */
  deferIndex?: boolean;
}

export interface IngestResult {
  documents: { id: string; chunks: number }[];
  chunks: number;
  /** Whether the knowledge base's vector index is in place after this upload. */
  indexed: boolean;
}

export interface IndexResult {
  chunks: number;
  indexed: boolean;
}

/** How long an ingestion may take to embed its chunks. */
const INGEST_TIMEOUT_MS = 300_000;
/**
 * Chunks committed per transaction (whole documents; a larger document is one batch of its own). The
 * embedded database has one session: a transaction holds everyone else, and they give up after 30 s.
 */
export const STORE_BATCH_CHUNKS = 5_000;
/** Uploads smaller than this insert into the index as they are (a rebuild has a fixed cost). */
export const BULK_LOAD_MIN_CHUNKS = 500;
/** An upload of at least 1/BULK_LOAD_SHARE of the knowledge base's chunks rebuilds its index. */
export const BULK_LOAD_SHARE = 4;

interface StoredDocument {
  document: SourceDocument;
  chunks: NewChunk[];
}

/**
 * Document ingestion: chunked, embedded through the gateway's own embeddings endpoint as the caller
 * (KnowledgeEmbedder: ledgered, limited), then stored in bulk. Each document's chunks are replaced
 * atomically; an upload commits in batches of whole documents (STORE_BATCH_CHUNKS), each with its
 * audit row. Large uploads on the embedded database drop the HNSW index and rebuild it after the load
 * (see `bulkLoad`).
 */
@Injectable()
export class KnowledgeIngestionService {
  constructor(
    private readonly knowledge: KnowledgeService,
    private readonly repository: KnowledgeRepository,
    private readonly embedder: KnowledgeEmbedder,
    private readonly audit: AuditService,
  ) {}

  /** Chunks, embeds (as the caller) and stores documents; a document id already present is replaced. */
  async ingest(actor: AdminActor, name: string, input: IngestInput): Promise<IngestResult> {
    const kb = await this.knowledge.changeable(actor.principal, name);
    const documents: SourceDocument[] =
      input.format === 'jsonl'
        ? parseJsonlDocuments(input.content, 'text')
        : [
            {
              id: checkDocumentId(input.id, 'document'),
              format: input.format,
              content: input.content,
              metadata: input.metadata ?? {},
            },
          ];
    const chunked = await Promise.all(documents.map((d) => chunkDocument(d, kb)));
    const texts = chunked.flat();
    const parent: InvocationParent = { requestId: actor.requestId, principal: actor.principal };
    const embeddings =
      texts.length === 0
        ? []
        : await this.embedder.embed(
            parent,
            'kb_ingest',
            kb.embeddingEndpoint,
            texts,
            AbortSignal.timeout(INGEST_TIMEOUT_MS),
          );
    const dims = embeddings[0]?.length ?? kb.dimensions ?? undefined;
    if (dims !== undefined) {
      if (kb.dimensions !== null && kb.dimensions !== dims) throw wrongDimensions(kb, dims);
      if (dims > 2000) {
        throw KnowledgeException.invalid(
          `HNSW indexes vectors of at most 2000 dimensions; the embeddings endpoint returned ${dims}.`,
        );
      }
    }
    let offset = 0;
    const stored: StoredDocument[] = documents.map((document, i) => {
      const chunks = chunked[i].map((content, index) => ({
        index,
        content,
        embedding: embeddings[offset + index],
      }));
      offset += chunks.length;
      return { document, chunks };
    });
    const deferred = input.deferIndex === true;
    const dropIndex = deferred || (texts.length > 0 && (await this.bulkLoad(kb, texts.length)));
    const batches = storeBatches(stored, STORE_BATCH_CHUNKS);
    try {
      for (const [i, batch] of batches.entries()) {
        const store = async (manager: EntityManager): Promise<void> => {
          if (i === 0 && texts.length > 0 && dims !== undefined) {
            if (!(await this.repository.claimDimensions(kb.id, dims, manager)))
              throw wrongDimensions(kb, dims);
          }
          if (i === 0 && dropIndex) await this.repository.dropIndex(kb, manager);
          await this.repository.replaceDocuments(
            kb.id,
            batch.map((s) => ({
              documentId: s.document.id,
              metadata: s.document.metadata,
              chunks: s.chunks,
            })),
            manager,
          );
        };
        if (i > 0) {
          await this.repository.transaction(store);
          continue;
        }
        // The upload's one audit row goes with its first batch: should a later batch fail, what was
        // stored before it is covered by the row, and the caller gets the error (re-sending replaces).
        await this.audit.write(actor, async (manager) => {
          await store(manager);
          return {
            result: undefined,
            event: {
              action: 'knowledge_base.documents.ingest',
              targetType: 'knowledge_base',
              targetId: kb.name,
              after: {
                documents: stored.map((s) => ({ id: s.document.id, chunks: s.chunks.length })).slice(0, 100),
                chunks: texts.length,
                ...(batches.length > 1 ? { batches: batches.length } : {}),
                ...(deferred ? { deferIndex: true } : {}),
              },
              teamId: kb.ownerTeamId,
            },
          };
        });
      }
    } finally {
      // Also after a failed batch (the first may have dropped the index). Outside any transaction: a
      // build holds the embedded session for seconds, and a transaction that long would time out
      // everyone waiting for it (a lone statement only delays them).
      if (dims !== undefined && !deferred) await this.repository.ensureIndex(kb, dims);
    }
    return {
      documents: stored.map((s) => ({ id: s.document.id, chunks: s.chunks.length })),
      chunks: texts.length,
      indexed: dims !== undefined && !deferred,
    };
  }

  /** `POST …/index`: builds the knowledge base's vector index if it has none (after deferred uploads). */
  async buildIndex(actor: AdminActor, name: string): Promise<IndexResult> {
    const kb = await this.knowledge.changeable(actor.principal, name);
    const dims = kb.dimensions;
    if (dims !== null) await this.repository.ensureIndex(kb, dims);
    const result = { chunks: await this.repository.chunkCount(kb.id), indexed: dims !== null };
    // Recorded after the build, which runs outside any transaction (it may take minutes).
    await this.audit.write(actor, () =>
      Promise.resolve({
        result: undefined,
        event: {
          action: 'knowledge_base.index.build',
          targetType: 'knowledge_base',
          targetId: kb.name,
          after: result,
          teamId: kb.ownerTeamId,
        },
      }),
    );
    return result;
  }

  /**
   * Whether an upload of `chunks` chunks replaces the knowledge base's HNSW index with one built after
   * the load. Only on the embedded database, where pgvector's WebAssembly inserts into the graph one row
   * at a time at a fifth of the rate it builds one in memory (measured at 10k chunks, 256 dimensions); a
   * rebuild also re-indexes what is there, so it pays off when the upload is at least a quarter of the
   * knowledge base. On a PostgreSQL server, dropping the index would lock every knowledge base's chunks
   * until the commit, and native inserts are fast: there it inserts incrementally unless asked to defer.
   */
  private async bulkLoad(kb: KnowledgeBaseRow, chunks: number): Promise<boolean> {
    if (!this.repository.embedded || chunks < BULK_LOAD_MIN_CHUNKS) return false;
    return chunks * BULK_LOAD_SHARE >= (await this.repository.chunkCount(kb.id));
  }
}

/** Consecutive groups of whole documents of at most `limit` chunks (a larger document goes alone). */
export function storeBatches<T extends { chunks: readonly unknown[] }>(
  documents: readonly T[],
  limit: number,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const document of documents) {
    if (current.length > 0 && size + document.chunks.length > limit) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(document);
    size += document.chunks.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function wrongDimensions(kb: KnowledgeBaseRow, dims: number): KnowledgeException {
  return KnowledgeException.badEmbeddings(
    `The embeddings endpoint returned ${dims}-dimensional vectors; knowledge base '${kb.name}' holds ${kb.dimensions ?? 'other'}-dimensional ones.`,
  );
}
