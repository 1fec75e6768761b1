import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { vectorLiteral } from 'src/modules/knowledge/knowledge.repository';

export interface SemanticKey {
  scope: string;
  endpoint: string;
  paramsHash: string;
}

export interface SemanticCandidate {
  response: unknown;
  similarity: number;
}

/**
 * Semantic-cache entries. A lookup scans only one (endpoint, team scope, parameters) partition, found by
 * a btree, and takes its nearest entry by cosine distance; entries of another dimension are skipped.
 */
@Injectable()
export class SemanticCacheRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async nearest(key: SemanticKey, embedding: readonly number[]): Promise<SemanticCandidate | undefined> {
    const rows = await this.dataSource.query<{ response: unknown; similarity: number }[]>(
      `SELECT response, 1 - (embedding <=> $4::vector) AS similarity FROM semantic_cache_entries
       WHERE endpoint = $1 AND scope = $2 AND params_hash = $3 AND expires_at > now()
         AND vector_dims(embedding) = $5
       ORDER BY embedding <=> $4::vector LIMIT 1`,
      [key.endpoint, key.scope, key.paramsHash, vectorLiteral(embedding), embedding.length],
    );
    const row = rows[0];
    if (!row) return undefined;
    const response: unknown = typeof row.response === 'string' ? JSON.parse(row.response) : row.response;
    return { response, similarity: Number(row.similarity) };
  }

  async store(
    key: SemanticKey,
    embedding: readonly number[],
    response: unknown,
    ttlSeconds: number,
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO semantic_cache_entries (scope, endpoint, params_hash, embedding, response, expires_at)
       VALUES ($1, $2, $3, $4::vector, $5::jsonb, now() + make_interval(secs => $6))`,
      [
        key.scope,
        key.endpoint,
        key.paramsHash,
        vectorLiteral(embedding),
        JSON.stringify(response),
        ttlSeconds,
      ],
    );
  }

  /** Drops entries by endpoint and/or scope (all when neither is given), and expired ones. Returns how many matched. */
  async invalidate(endpoint: string | undefined, scope: string | undefined): Promise<number> {
    const rows = await this.dataSource.query<{ n: number }[]>(
      `WITH gone AS (DELETE FROM semantic_cache_entries
         WHERE (($1::text IS NULL OR endpoint = $1) AND ($2::text IS NULL OR scope = $2)) OR expires_at <= now()
         RETURNING endpoint, scope, expires_at > now() AS live)
       SELECT count(*)::int AS n FROM gone WHERE live`,
      [endpoint ?? null, scope ?? null],
    );
    return Number(rows[0]?.n ?? 0);
  }
}
