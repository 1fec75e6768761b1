import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { createVectorTables, vectorAvailable } from 'migrations/1765300600000-knowledge-bases';
import { KnowledgeException } from 'src/modules/knowledge/knowledge.exception';

/** Where the vector tables stand on this server, decided once at start-up. */
export type VectorState = 'ready' | 'missing';

/**
 * Whether this PostgreSQL server can hold vectors (pgvector). Embedded PGlite always can. A server
 * without the extension still runs every other feature: the gateway logs how to install it and the
 * knowledge-base, RAG and semantic-cache paths answer 503 (see KnowledgeException.vectorUnavailable).
 */
@Injectable()
export class VectorSupport implements OnModuleInit {
  private readonly logger = new Logger('KnowledgeBases');
  private state: VectorState = 'missing';

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    // Injected only to order start-up after the migrations.
    @Inject('MIGRATIONS_APPLIED') _migrations: string[],
  ) {}

  async onModuleInit(): Promise<void> {
    this.state = await this.check();
    if (this.state === 'missing') {
      this.logger.error(
        "PostgreSQL extension 'vector' (pgvector) is not available on this server: knowledge bases, RAG " +
          'endpoints and the semantic cache are disabled (their routes answer 503); everything else works. ' +
          'To enable them install pgvector on the database server (Debian/Ubuntu: apt-get install ' +
          'postgresql-<major>-pgvector; Docker: the pgvector/pgvector image; or build it from ' +
          'github.com/pgvector/pgvector) and restart the gateway, which then runs CREATE EXTENSION vector.',
      );
    }
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Throws the 503 every vector path answers on a server without pgvector. */
  assertReady(): void {
    if (this.state !== 'ready') throw KnowledgeException.vectorUnavailable();
  }

  private async check(): Promise<VectorState> {
    const tables = await this.dataSource.query<{ chunks: boolean; cache: boolean }[]>(
      `SELECT to_regclass('kb_chunks') IS NOT NULL AS chunks, to_regclass('semantic_cache_entries') IS NOT NULL AS cache`,
    );
    if (tables[0]?.chunks && tables[0]?.cache) return 'ready';
    if (!(await vectorAvailable(this.dataSource))) return 'missing';
    // pgvector was installed after the knowledge-base migration ran: its vector tables now (idempotent).
    try {
      await this.dataSource.transaction((m) => createVectorTables(m));
      this.logger.log('pgvector found: created the knowledge-base vector tables');
      return 'ready';
    } catch (error) {
      this.logger.error(
        `pgvector is available but its tables could not be created (${error instanceof Error ? error.message : 'unknown error'}); the database user needs the right to CREATE EXTENSION vector`,
      );
      return 'missing';
    }
  }
}
