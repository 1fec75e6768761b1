import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import { KnowledgeIngestionService } from 'src/modules/knowledge/knowledge-ingestion.service';
import { KnowledgeService } from 'src/modules/knowledge/knowledge.service';

const KbName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits and . _ - (at most 128)');
const DocumentId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/, 'a document id');
const Metadata = z.record(z.string().max(128), z.unknown());

const CreateDto = z.strictObject({
  name: KbName,
  description: z.string().max(2000).nullable().optional(),
  /** An `llm/v1/embeddings` endpoint or route of this gateway. */
  embeddingEndpoint: z.string().min(1).max(128),
  /** Characters per chunk. */
  chunkSize: z.int().min(100).max(8000).optional(),
  chunkOverlap: z.int().min(0).max(4000).optional(),
  ownerTeamId: z.uuid().nullable().optional(),
});
const UpdateDto = z.strictObject({
  description: z.string().max(2000).nullable().optional(),
  chunkSize: z.int().min(100).max(8000).optional(),
  chunkOverlap: z.int().min(0).max(4000).optional(),
});
const IngestDto = z.strictObject({
  /** The document's id (re-ingesting an id replaces its chunks); not used with `jsonl`. */
  id: z.string().max(256).optional(),
  /** `jsonl`: `content` holds one `{"id","text","format"?,"metadata"?}` document per line. */
  format: z.enum(['text', 'markdown', 'html', 'jsonl']).default('text'),
  content: z.string().min(1).max(20_000_000),
  metadata: Metadata.optional(),
  /** Leave the vector index out until `POST …/index` (bulk loads of many uploads build it once). */
  deferIndex: z.boolean().optional(),
});
export const SearchDto = z.strictObject({
  query: z.string().min(1).max(8000),
  top_k: z.int().min(1).max(100).default(5),
  /** Chunks whose metadata contains every one of these key/values. */
  filter: Metadata.optional(),
  /** Fuse full-text (PostgreSQL tsvector) matches with the vector ranking (reciprocal rank fusion). */
  hybrid: z.boolean().default(false),
});

@ApiTags('Admin: knowledge bases')
@ApiBearerAuth()
@Controller('admin/v1/knowledge-bases')
export class KnowledgeController {
  constructor(
    private readonly knowledge: KnowledgeService,
    private readonly ingestion: KnowledgeIngestionService,
  ) {}

  @Get()
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'List knowledge bases (own team and global)' })
  list(@Actor() actor: AdminActor) {
    return this.knowledge.list(actor);
  }

  @Post()
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Create a knowledge base: embeddings endpoint, chunking, owning team' })
  @ApiBody({ schema: schemaOf(CreateDto) })
  create(@Actor() actor: AdminActor, @Body(new ZodPipe(CreateDto)) dto: z.infer<typeof CreateDto>) {
    return this.knowledge.create(actor, dto);
  }

  @Get(':kb')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'A knowledge base with its document and chunk counts' })
  get(@Actor() actor: AdminActor, @Param('kb', new ZodPipe(KbName)) name: string) {
    return this.knowledge.get(actor, name);
  }

  @Patch(':kb')
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Change a knowledge base (description, chunking of later ingestions)' })
  @ApiBody({ schema: schemaOf(UpdateDto) })
  update(
    @Actor() actor: AdminActor,
    @Param('kb', new ZodPipe(KbName)) name: string,
    @Body(new ZodPipe(UpdateDto)) dto: z.infer<typeof UpdateDto>,
  ) {
    return this.knowledge.update(actor, name, dto);
  }

  @Delete(':kb')
  @HttpCode(204)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Delete a knowledge base and all its chunks' })
  async remove(@Actor() actor: AdminActor, @Param('kb', new ZodPipe(KbName)) name: string): Promise<void> {
    await this.knowledge.remove(actor, name);
  }

  @Post(':kb/documents')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({
    summary:
      'Ingest a document (text, Markdown, HTML) or many (JSONL): chunked, embedded through the gateway as the caller; an existing id is replaced',
  })
  @ApiBody({ schema: schemaOf(IngestDto) })
  ingest(
    @Actor() actor: AdminActor,
    @Param('kb', new ZodPipe(KbName)) name: string,
    @Body(new ZodPipe(IngestDto)) dto: z.infer<typeof IngestDto>,
  ) {
    return this.ingestion.ingest(actor, name, dto);
  }

  @Post(':kb/index')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({
    summary: "Build the knowledge base's vector index if it has none (after uploads with deferIndex)",
  })
  buildIndex(@Actor() actor: AdminActor, @Param('kb', new ZodPipe(KbName)) name: string) {
    return this.ingestion.buildIndex(actor, name);
  }

  @Delete(':kb/documents/:id')
  @HttpCode(204)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: "Delete a document's chunks" })
  async removeDocument(
    @Actor() actor: AdminActor,
    @Param('kb', new ZodPipe(KbName)) name: string,
    @Param('id', new ZodPipe(DocumentId)) id: string,
  ): Promise<void> {
    await this.knowledge.deleteDocument(actor, name, id);
  }
}

@ApiTags('Knowledge bases')
@ApiBearerAuth()
@Controller('v1/knowledge-bases')
export class KnowledgeSearchController {
  constructor(private readonly knowledge: KnowledgeService) {}

  @Post(':kb/search')
  @HttpCode(200)
  @RequirePermission('inference.invoke')
  @ApiOperation({
    summary: 'Top-k chunks by cosine similarity; metadata filter; optional hybrid with full-text',
  })
  @ApiBody({ schema: schemaOf(SearchDto) })
  search(
    @Actor() actor: AdminActor,
    @Param('kb', new ZodPipe(KbName)) name: string,
    @Body(new ZodPipe(SearchDto)) dto: z.infer<typeof SearchDto>,
  ) {
    return this.knowledge.search(actor, name, {
      query: dto.query,
      topK: dto.top_k,
      filter: dto.filter,
      hybrid: dto.hybrid,
    });
  }
}
