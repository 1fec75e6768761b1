import { MigrationInterface, QueryRunner } from 'typeorm';

/** Anything that runs SQL: a migration's QueryRunner, a DataSource, an EntityManager. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** Whether the server can load pgvector (`vector`): embedded PGlite ships it; a server needs the package. */
export async function vectorAvailable(run: SqlRunner): Promise<boolean> {
  const rows = (await run.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`)) as unknown[];
  return rows.length > 0;
}

/**
 * The tables that hold vectors. Idempotent: the migration applies them when the server has pgvector,
 * and the knowledge-base module applies them at start-up on a server where pgvector was installed after
 * this migration ran (there is no other way to get them without editing a migration that landed).
 *
 * One `kb_chunks` table for every knowledge base; its vector column has no fixed dimension, so each
 * knowledge base gets its own partial HNSW index on `embedding::vector(<dims>)` when it is created.
 * `tsv` backs the optional full-text half of hybrid search. The semantic cache's entries are few per
 * (team, endpoint, parameters) scope and are scanned within that scope (a btree finds it).
 */
export async function createVectorTables(run: SqlRunner): Promise<void> {
  await run.query(`CREATE EXTENSION IF NOT EXISTS vector`);
  await run.query(
    `CREATE TABLE IF NOT EXISTS kb_chunks (
       id bigserial PRIMARY KEY,
       kb_id uuid NOT NULL REFERENCES knowledge_bases(id) ON DELETE CASCADE,
       document_id varchar(256) NOT NULL,
       chunk_index integer NOT NULL,
       content text NOT NULL,
       metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
       embedding vector NOT NULL,
       tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
       created_at timestamptz NOT NULL DEFAULT now(),
       UNIQUE (kb_id, document_id, chunk_index)
     )`,
  );
  await run.query(`CREATE INDEX IF NOT EXISTS kb_chunks_tsv ON kb_chunks USING gin (tsv)`);
  await run.query(
    `CREATE TABLE IF NOT EXISTS semantic_cache_entries (
       id bigserial PRIMARY KEY,
       scope varchar(64) NOT NULL,
       endpoint varchar(128) NOT NULL,
       params_hash varchar(64) NOT NULL,
       embedding vector NOT NULL,
       response jsonb NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       expires_at timestamptz NOT NULL
     )`,
  );
  await run.query(
    `CREATE INDEX IF NOT EXISTS semantic_cache_scope ON semantic_cache_entries (endpoint, scope, params_hash)`,
  );
}

/**
 * Knowledge bases (RAG). The catalogue table always exists; the vector tables only where the server has
 * pgvector, so this migration succeeds on a server without it (knowledge-base routes then answer 503).
 */
export class KnowledgeBases1765300600000 implements MigrationInterface {
  name = 'KnowledgeBases1765300600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE knowledge_bases (
         id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
         name varchar(128) NOT NULL UNIQUE,
         description text NULL,
         owner_team_id uuid NULL REFERENCES auth_teams(id) ON DELETE CASCADE,
         embedding_endpoint varchar(128) NOT NULL,
         dimensions integer NULL,
         chunk_size integer NOT NULL,
         chunk_overlap integer NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    if (await vectorAvailable(queryRunner)) await createVectorTables(queryRunner);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS semantic_cache_entries`);
    await queryRunner.query(`DROP TABLE IF EXISTS kb_chunks`);
    await queryRunner.query(`DROP TABLE knowledge_bases`);
  }
}
