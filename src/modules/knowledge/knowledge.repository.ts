import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { EmbeddedClient, EmbeddedPool } from 'src/infra/database/embedded/embedded-pool';

export interface KnowledgeBaseRow {
  id: string;
  name: string;
  description: string | null;
  ownerTeamId: string | null;
  embeddingEndpoint: string;
  dimensions: number | null;
  chunkSize: number;
  chunkOverlap: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewChunk {
  index: number;
  content: string;
  embedding: number[];
}

/** One document's new chunks, stored by `replaceDocuments`. */
export interface DocumentChunks {
  documentId: string;
  metadata: Record<string, unknown>;
  chunks: readonly NewChunk[];
}

export interface ChunkHit {
  documentId: string;
  chunkIndex: number;
  content: string;
  metadata: Record<string, unknown>;
  /** Cosine similarity to the query (1 = same direction). */
  similarity: number;
  /** The ranking score: the similarity, or the reciprocal-rank fusion score of a hybrid search. */
  score: number;
}

export interface SearchQuery {
  embedding: number[];
  /** The query text: the full-text half of a hybrid search. */
  text: string;
  topK: number;
  /** Chunks whose metadata contains all of these key/values (jsonb containment). */
  filter: Record<string, unknown> | undefined;
  hybrid: boolean;
}

type Row = Record<string, unknown>;

const toRow = (r: Row): KnowledgeBaseRow => ({
  id: r.id as string,
  name: r.name as string,
  description: (r.description as string | null) ?? null,
  ownerTeamId: (r.owner_team_id as string | null) ?? null,
  embeddingEndpoint: r.embedding_endpoint as string,
  dimensions: r.dimensions === null || r.dimensions === undefined ? null : Number(r.dimensions),
  chunkSize: Number(r.chunk_size),
  chunkOverlap: Number(r.chunk_overlap),
  createdAt: new Date(r.created_at as string),
  updatedAt: new Date(r.updated_at as string),
});

/** pgvector's text form of a vector. */
export const vectorLiteral = (values: readonly number[]): string => `[${values.join(',')}]`;

/** RRF's damping constant (Cormack et al.): ranks below ~60 add little. */
const RRF_K = 60;
const UUID = /^[0-9a-f-]{36}$/;
const CHUNK_COLUMNS = ['kb_id', 'document_id', 'chunk_index', 'content', 'metadata', 'embedding'];
/** Rows per multi-row INSERT on a PostgreSQL server: 5 parameters each, far under its 65,535. */
const ROWS_PER_INSERT = 1_000;
/**
 * Working memory for an embedded index build. pgvector builds the HNSW graph in memory while it fits
 * (about 2 kB a chunk at 256 dimensions, so 100k chunks need ~200 MB) and falls back to inserting
 * on disk, several times slower, when it does not. It is allocated as the graph grows, not up front.
 */
const EMBEDDED_BUILD_MEMORY = '768MB';

/**
 * Knowledge bases and their chunks. Each knowledge base's vectors are searched through its own partial
 * HNSW index on `embedding::vector(<dims>)` (pgvector's way to index a column of mixed dimensions); the
 * index and the queries name the knowledge base's id and dimension literally so the planner can match
 * the partial index (both come from this table, never from a request).
 */
@Injectable()
export class KnowledgeRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async all(): Promise<KnowledgeBaseRow[]> {
    return (await this.dataSource.query<Row[]>('SELECT * FROM knowledge_bases ORDER BY name')).map(toRow);
  }

  async findByName(name: string, manager?: EntityManager): Promise<KnowledgeBaseRow | undefined> {
    const rows = await (manager ?? this.dataSource.manager).query<Row[]>(
      'SELECT * FROM knowledge_bases WHERE name = $1',
      [name],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async insert(
    kb: Omit<KnowledgeBaseRow, 'id' | 'createdAt' | 'updatedAt'>,
    manager: EntityManager,
  ): Promise<KnowledgeBaseRow> {
    const rows = await manager.query<Row[]>(
      `INSERT INTO knowledge_bases (name, description, owner_team_id, embedding_endpoint, dimensions, chunk_size, chunk_overlap)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [
        kb.name,
        kb.description,
        kb.ownerTeamId,
        kb.embeddingEndpoint,
        kb.dimensions,
        kb.chunkSize,
        kb.chunkOverlap,
      ],
    );
    return toRow(rows[0]);
  }

  async update(
    id: string,
    changes: { description: string | null; chunkSize: number; chunkOverlap: number },
    manager: EntityManager,
  ): Promise<KnowledgeBaseRow> {
    const rows = await manager.query<Row[]>(
      `WITH changed AS (UPDATE knowledge_bases SET description = $2, chunk_size = $3, chunk_overlap = $4, updated_at = now()
       WHERE id = $1 RETURNING *) SELECT * FROM changed`,
      [id, changes.description, changes.chunkSize, changes.chunkOverlap],
    );
    return toRow(rows[0]);
  }

  async remove(kb: KnowledgeBaseRow, manager: EntityManager): Promise<void> {
    await manager.query(`DROP INDEX IF EXISTS ${indexName(kb.id)}`);
    await manager.query('DELETE FROM knowledge_bases WHERE id = $1', [kb.id]);
  }

  /**
   * Fixes the knowledge base's dimension on its first vectors; false when it already holds vectors of
   * another dimension (a concurrent first ingestion with another endpoint answer won the race).
   */
  async claimDimensions(kbId: string, dimensions: number, manager: EntityManager): Promise<boolean> {
    const rows = await manager.query<Row[]>(
      `WITH claimed AS (UPDATE knowledge_bases SET dimensions = $2
       WHERE id = $1 AND (dimensions IS NULL OR dimensions = $2) RETURNING id) SELECT id FROM claimed`,
      [kbId, dimensions],
    );
    return rows.length > 0;
  }

  /**
   * Builds the knowledge base's HNSW index unless it exists (idempotent). After `dropIndex` this is the
   * bulk path: one in-memory graph build over every chunk instead of one on-disk graph insert per row.
   */
  async ensureIndex(kb: KnowledgeBaseRow, dimensions: number): Promise<void> {
    checkId(kb.id);
    const create = `CREATE INDEX IF NOT EXISTS ${indexName(kb.id)} ON kb_chunks
       USING hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) WHERE kb_id = '${kb.id}'`;
    if (!this.embedded) {
      await this.dataSource.query(create);
      return;
    }
    // One request to the embedded session (simple protocol, several statements), so no other
    // statement runs with the raised setting; PGlite has no other session to share memory with.
    await this.dataSource.query(
      `SET maintenance_work_mem = '${EMBEDDED_BUILD_MEMORY}'; ${create}; RESET maintenance_work_mem`,
    );
  }

  /**
   * Drops the knowledge base's HNSW index inside `manager`'s transaction, ahead of a bulk load that
   * `ensureIndex` re-indexes after the commit. Until then its searches scan its chunks exactly.
   */
  async dropIndex(kb: KnowledgeBaseRow, manager: EntityManager): Promise<void> {
    await manager.query(`DROP INDEX IF EXISTS ${indexName(kb.id)}`);
  }

  /**
   * Whether chunks live in embedded PGlite, where pgvector runs as WebAssembly and an HNSW insert per
   * row costs ~5 ms at 10k chunks (rising with the graph): the ingestion's bulk path is for it.
   */
  get embedded(): boolean {
    return (this.dataSource.driver as { master?: unknown }).master instanceof EmbeddedPool;
  }

  async chunkCount(kbId: string): Promise<number> {
    const rows = await this.dataSource.query<Row[]>(
      'SELECT count(*)::int AS n FROM kb_chunks WHERE kb_id = $1',
      [kbId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async stats(kbId: string): Promise<{ documents: number; chunks: number }> {
    const rows = await this.dataSource.query<Row[]>(
      'SELECT count(DISTINCT document_id) AS documents, count(*) AS chunks FROM kb_chunks WHERE kb_id = $1',
      [kbId],
    );
    return { documents: Number(rows[0]?.documents ?? 0), chunks: Number(rows[0]?.chunks ?? 0) };
  }

  /**
   * Replaces documents' chunks (re-ingesting an id replaces what it had) inside `manager`'s transaction:
   * one DELETE for all of them, then the rows in bulk: COPY on the embedded database (a third of the
   * cost of INSERT there), multi-row INSERTs on a server. The (kb, document, chunk) key makes a chunk
   * land once; a duplicate fails the whole transaction.
   */
  async replaceDocuments(
    kbId: string,
    documents: readonly DocumentChunks[],
    manager: EntityManager,
  ): Promise<void> {
    if (documents.length === 0) return;
    await manager.query(
      `DELETE FROM kb_chunks WHERE kb_id = $1
       AND document_id IN (SELECT jsonb_array_elements_text($2::jsonb))`,
      [kbId, JSON.stringify(documents.map((d) => d.documentId))],
    );
    const rows = documents.flatMap((d) =>
      d.chunks.map((chunk) => ({
        kb_id: kbId,
        document_id: d.documentId,
        chunk_index: chunk.index,
        content: chunk.content,
        metadata: d.metadata,
        embedding: vectorLiteral(chunk.embedding),
      })),
    );
    if (rows.length === 0) return;
    const client = transactionClient(manager);
    if (client instanceof EmbeddedClient) {
      await client.copyRows('kb_chunks', CHUNK_COLUMNS, JSON.stringify(rows));
      return;
    }
    for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
      const params: unknown[] = [kbId];
      const values = rows.slice(start, start + ROWS_PER_INSERT).map((row) => {
        params.push(
          row.document_id,
          row.chunk_index,
          row.content,
          JSON.stringify(row.metadata),
          row.embedding,
        );
        const n = params.length;
        return `($1, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}::jsonb, $${n}::vector)`;
      });
      await manager.query(
        `INSERT INTO kb_chunks (${CHUNK_COLUMNS.join(', ')}) VALUES ${values.join(', ')}`,
        params,
      );
    }
  }

  /** Deletes a document's chunks; false when it had none. */
  async deleteDocument(kbId: string, documentId: string, manager: EntityManager): Promise<boolean> {
    // (TypeORM answers a bare DELETE with [rows, count]: count through a SELECT instead.)
    const rows = await manager.query<{ n: number }[]>(
      'WITH gone AS (DELETE FROM kb_chunks WHERE kb_id = $1 AND document_id = $2 RETURNING id) SELECT count(*)::int AS n FROM gone',
      [kbId, documentId],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /**
   * Top-k by cosine distance through the HNSW index; with `hybrid`, fused (reciprocal rank fusion) with
   * the best full-text matches (`plainto_tsquery('english', …)` ranked by `ts_rank_cd`).
   */
  async search(kb: KnowledgeBaseRow, query: SearchQuery): Promise<ChunkHit[]> {
    checkId(kb.id);
    const dims = kb.dimensions;
    if (dims === null) return [];
    const filter = query.filter ? `AND metadata @> $3::jsonb` : '';
    const params: unknown[] = [
      vectorLiteral(query.embedding),
      query.topK,
      ...(query.filter ? [JSON.stringify(query.filter)] : []),
    ];
    // pgvector's HNSW scan returns at most `hnsw.ef_search` candidates (default 40) and finds the true
    // nearest less often as the graph grows (recall@1 0.76 at 100k chunks in bench/rag.ts): widen it to
    // at least 100 and to the candidates this query asks for, for this query's transaction only.
    const efSearch = Math.min(1_000, Math.max(100, query.topK * 4));
    const rows = await this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL hnsw.ef_search = ${efSearch}`);
      return this.searchRows(manager, kb.id, dims, query, params, filter);
    });
    return rows.map((r) => hit(r, Number(query.hybrid ? r.score : r.similarity)));
  }

  private async searchRows(
    manager: EntityManager,
    kbId: string,
    dims: number,
    query: SearchQuery,
    params: unknown[],
    filter: string,
  ): Promise<Row[]> {
    const vec = `embedding::vector(${dims})`;
    if (!query.hybrid) {
      return manager.query<Row[]>(
        `SELECT document_id, chunk_index, content, metadata, 1 - (${vec} <=> $1::vector(${dims})) AS similarity
         FROM kb_chunks WHERE kb_id = '${kbId}' ${filter}
         ORDER BY ${vec} <=> $1::vector(${dims}) LIMIT $2`,
        params,
      );
    }
    params.push(query.text);
    const textParam = `$${params.length}`;
    // Each side contributes its best 4k candidates; a chunk found by both ranks highest.
    return manager.query<Row[]>(
      `WITH semantic AS (
         SELECT id, row_number() OVER (ORDER BY distance) AS rank FROM (
           SELECT id, ${vec} <=> $1::vector(${dims}) AS distance FROM kb_chunks
           WHERE kb_id = '${kbId}' ${filter} ORDER BY distance LIMIT $2 * 4) s
       ), lexical AS (
         SELECT id, row_number() OVER (ORDER BY score DESC) AS rank FROM (
           SELECT id, ts_rank_cd(tsv, plainto_tsquery('english', ${textParam})) AS score FROM kb_chunks
           WHERE kb_id = '${kbId}' ${filter} AND tsv @@ plainto_tsquery('english', ${textParam})
           ORDER BY score DESC LIMIT $2 * 4) l
       ), fused AS (
         SELECT COALESCE(s.id, l.id) AS id,
                COALESCE(1.0 / (${RRF_K} + s.rank), 0) + COALESCE(1.0 / (${RRF_K} + l.rank), 0) AS score
         FROM semantic s FULL OUTER JOIN lexical l ON s.id = l.id
       )
       SELECT c.document_id, c.chunk_index, c.content, c.metadata, f.score,
              1 - (c.${vec} <=> $1::vector(${dims})) AS similarity
       FROM fused f JOIN kb_chunks c ON c.id = f.id
       ORDER BY f.score DESC, similarity DESC LIMIT $2`,
      params,
    );
  }
}

/** The driver connection of the transaction `manager` runs in (pg's client, or the embedded one). */
function transactionClient(manager: EntityManager): unknown {
  return (manager.queryRunner as { databaseConnection?: unknown } | undefined)?.databaseConnection;
}

function hit(r: Row, score: number): ChunkHit {
  const metadata =
    typeof r.metadata === 'string' ? (JSON.parse(r.metadata) as Row) : ((r.metadata as Row) ?? {});
  return {
    documentId: r.document_id as string,
    chunkIndex: Number(r.chunk_index),
    content: r.content as string,
    metadata,
    similarity: round(Number(r.similarity)),
    score: round(score),
  };
}

const round = (value: number): number => Math.round(value * 1e6) / 1e6;

function indexName(id: string): string {
  checkId(id);
  return `kb_chunks_hnsw_${id.replaceAll('-', '')}`;
}

/** Ids are spliced into SQL (partial-index predicates): only ever a UUID this table generated. */
function checkId(id: string): void {
  if (!UUID.test(id)) throw new Error('knowledge base id is not a UUID');
}
