import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { RagInterceptor } from 'src/modules/knowledge/rag.interceptor';
import { PromptsModule } from 'src/modules/prompts/prompts.module';
import { TokensModule } from 'src/modules/tokens/tokens.module';
import { KnowledgeController, KnowledgeSearchController } from 'src/modules/knowledge/knowledge.controller';
import { KnowledgeIngestionService } from 'src/modules/knowledge/knowledge-ingestion.service';
import { KnowledgeEmbedder } from 'src/modules/knowledge/knowledge-embedder';
import { KnowledgeBindingPolicy } from 'src/modules/knowledge/knowledge-binding.policy';
import { KnowledgeRepository } from 'src/modules/knowledge/knowledge.repository';
import { KnowledgeService } from 'src/modules/knowledge/knowledge.service';
import { SemanticCacheInterceptor } from 'src/modules/knowledge/semantic-cache.interceptor';
import { SemanticCacheInvalidation } from 'src/modules/knowledge/semantic-cache.invalidation';
import { SemanticCacheRepository } from 'src/modules/knowledge/semantic-cache.repository';
import { VectorSupport } from 'src/modules/knowledge/vector-support.service';
import { PipelineCoreModule } from 'src/modules/pipeline/pipeline-core.module';
import { RoutingModule } from 'src/modules/routing/routing.module';

/** Knowledge bases on pgvector (catalogue, ingestion, search), the RAG stage, and the semantic cache. */
@Module({
  imports: [AuditModule, PipelineCoreModule, RoutingModule, PromptsModule, TokensModule],
  controllers: [KnowledgeController, KnowledgeSearchController],
  providers: [
    KnowledgeRepository,
    KnowledgeService,
    KnowledgeIngestionService,
    KnowledgeEmbedder,
    VectorSupport,
    RagInterceptor,
    SemanticCacheRepository,
    SemanticCacheInterceptor,
    SemanticCacheInvalidation,
    KnowledgeBindingPolicy,
  ],
  exports: [KnowledgeService, KnowledgeEmbedder, VectorSupport, RagInterceptor, SemanticCacheInterceptor],
})
export class KnowledgeModule {}
