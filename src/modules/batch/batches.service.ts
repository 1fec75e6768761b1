import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { Principal } from 'src/common/auth/principal';
import { BatchErrors } from 'src/modules/batch/batch.errors';
import { BatchOwnership } from 'src/modules/batch/batch-ownership';
import { BatchRepository } from 'src/modules/batch/batch.repository';
import { BATCH_ENDPOINTS, BatchRecord } from 'src/modules/batch/batch.records';
import { BatchRunner } from 'src/modules/batch/batch-runner.service';
import { OpenAIBatch, OpenAIList, toList, toOpenAIBatch } from 'src/modules/batch/dto/openai-objects';
import { boundedLimit, FilesService } from 'src/modules/batch/files.service';

const WINDOW_MS: Record<string, number> = { '24h': 24 * 3_600_000 };

/** `POST /v1/batches` as OpenAI documents it (metadata: at most 16 string pairs). */
export const CreateBatchSchema = z.object({
  input_file_id: z.string().min(1).max(128),
  endpoint: z.enum(BATCH_ENDPOINTS),
  completion_window: z.literal('24h'),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys')
    .nullable()
    .optional(),
});
export type CreateBatchDto = z.infer<typeof CreateBatchSchema>;

/**
 * OpenAI's Batch API: a batch is created `validating`; the job runner (BatchRunner) checks its input
 * file and runs it (in_progress → finalizing → completed; failed; expired; cancelling → cancelled).
 */
@Injectable()
export class BatchesService {
  constructor(
    private readonly repository: BatchRepository,
    private readonly files: FilesService,
    private readonly runner: BatchRunner,
  ) {}

  async create(actor: Principal, dto: CreateBatchDto): Promise<OpenAIBatch> {
    const file = await this.files.visible(actor, dto.input_file_id).catch(() => {
      throw BatchErrors.invalid(`No such File object: ${dto.input_file_id.slice(0, 128)}`, 'input_file_id');
    });
    if (file.purpose !== 'batch')
      throw BatchErrors.invalid("The input file must have purpose 'batch'.", 'input_file_id');
    const batch = await this.repository.insertBatch({
      id: `batch_${randomBytes(16).toString('hex')}`,
      teamId: actor.teamId,
      principalId: actor.id,
      apiKeyId: actor.apiKeyId,
      endpoint: dto.endpoint,
      inputFileId: file.id,
      completionWindow: dto.completion_window,
      metadata: dto.metadata ?? null,
      expiresAt: new Date(Date.now() + WINDOW_MS[dto.completion_window]),
    });
    this.runner.wake();
    return toOpenAIBatch(batch);
  }

  async get(actor: Principal, id: string): Promise<OpenAIBatch> {
    return toOpenAIBatch(await this.visible(actor, id));
  }

  async list(actor: Principal, query: { after?: string; limit?: string }): Promise<OpenAIList<OpenAIBatch>> {
    const limit = boundedLimit(query.limit, 100, 20);
    const rows = await this.repository.batches(BatchOwnership.scope(actor), query.after, limit + 1);
    return toList(rows.slice(0, limit).map(toOpenAIBatch), rows.length > limit);
  }

  /** validating | in_progress → cancelling; the runner lets lines in flight finish, then → cancelled. */
  async cancel(actor: Principal, id: string): Promise<OpenAIBatch> {
    const batch = await this.visible(actor, id);
    const cancelled = await this.repository.cancel(batch.id);
    if (!cancelled) {
      if (batch.status === 'cancelling' || batch.status === 'cancelled') return toOpenAIBatch(batch);
      throw BatchErrors.conflict(`Cannot cancel a batch with status '${batch.status}'.`);
    }
    this.runner.wake();
    return toOpenAIBatch(cancelled);
  }

  private async visible(actor: Principal, id: string): Promise<BatchRecord> {
    const batch = await this.repository.batch(id);
    if (!batch || !BatchOwnership.canSee(actor, batch)) throw BatchErrors.noBatch(id);
    return batch;
  }
}
