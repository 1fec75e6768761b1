import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { BatchRepository, DoneLine } from 'src/modules/batch/batch.repository';
import { BatchRecord, BatchStatus } from 'src/modules/batch/batch.records';
import { lineIds } from 'src/modules/batch/batch-line-ids';
import { newFileId } from 'src/modules/batch/files.service';

const CHUNK_CHARS = 1024 * 1024;

/** One file being written inside the finalizing transaction, in chunks. */
class FileWriter {
  id: string | undefined;
  private seq = 0;
  private pending = '';
  bytes = 0;
  lines = 0;

  constructor(
    private readonly repository: BatchRepository,
    private readonly m: EntityManager,
    private readonly batch: BatchRecord,
    private readonly kind: 'output' | 'error',
  ) {}

  async add(line: unknown): Promise<void> {
    if (!this.id) {
      this.id = newFileId();
      await this.repository.insertOutputFile(this.m, {
        id: this.id,
        teamId: this.batch.teamId,
        principalId: this.batch.principalId,
        purpose: 'batch_output',
        filename: `${this.batch.id}_${this.kind}.jsonl`,
        bytes: 0,
        lines: 0,
      });
    }
    const text = `${JSON.stringify(line)}\n`;
    this.pending += text;
    this.bytes += Buffer.byteLength(text);
    this.lines++;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  async close(): Promise<string | null> {
    if (!this.id) return null;
    await this.flush();
    await this.repository.finishFile(this.id, this.bytes, this.lines, this.m);
    return this.id;
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.repository.appendChunk(this.id!, this.seq++, this.pending, this.m);
    this.pending = '';
  }
}

/**
 * The output and error files of a batch, in OpenAI's line format and in input order, written in the
 * same transaction as the batch's final status: successes (2xx) go to the output file, every other
 * answer to the error file; with `expired`, lines that never ran are listed there as `batch_expired`.
 */
@Injectable()
export class BatchOutput {
  constructor(private readonly repository: BatchRepository) {}

  async write(
    m: EntityManager,
    batch: BatchRecord,
    status: Extract<BatchStatus, 'completed' | 'expired' | 'cancelled'>,
  ): Promise<void> {
    const output = new FileWriter(this.repository, m, batch, 'output');
    const errors = new FileWriter(this.repository, m, batch, 'error');
    for await (const line of this.repository.doneLines(m, batch.id, status === 'expired')) {
      const entry = outputLine(batch.id, line);
      if (
        line.state === 'done' &&
        line.statusCode !== null &&
        line.statusCode >= 200 &&
        line.statusCode < 300
      )
        await output.add(entry);
      else await errors.add(entry);
    }
    await this.repository.setStatus(m, batch.id, status, {
      output_file_id: await output.close(),
      error_file_id: await errors.close(),
    });
  }
}

/** `{"id","custom_id","response":{"status_code","request_id","body"},"error"}` (OpenAI's output line). */
function outputLine(batchId: string, line: DoneLine): Record<string, unknown> {
  const id = lineIds(batchId, line.line).requestId;
  if (line.state !== 'done') {
    return {
      id,
      custom_id: line.customId,
      response: null,
      error: {
        code: 'batch_expired',
        message: 'This request could not be executed before the completion window expired.',
      },
    };
  }
  return { id, custom_id: line.customId, response: line.response ?? null, error: line.error ?? null };
}
