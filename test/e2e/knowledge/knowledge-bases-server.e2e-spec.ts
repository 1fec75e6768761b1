import { describeKnowledgeBases } from 'test/e2e/knowledge/knowledge-bases.cases';
import { startPgvectorServer } from 'test/e2e/support/pgvector-server';

/**
 * The knowledge-base cases on a PostgreSQL server with pgvector: pgserver's PostgreSQL 16.2 with
 * pgvector 0.6.2 (the machine's PostgreSQL 15 has none; see no-pgvector.e2e-spec.ts for that case).
 * Large uploads insert into the existing HNSW index here, with multi-row INSERTs.
 */
describeKnowledgeBases({
  label: 'PostgreSQL 16 server + pgvector 0.6',
  start: async () => {
    const server = await startPgvectorServer();
    return { options: { databaseUrl: server.url }, close: server.close };
  },
  vectorVersion: /^0\.6\./,
  rebuildsIndexOnBulkUpload: false,
});
