import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Principal } from 'src/common/auth/principal';
import type { UploadPart } from 'src/common/http/multipart-parts';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { InputLineError, JsonlSplitter, parseInputLine } from 'src/modules/batch/batch-input';
import { BatchErrors } from 'src/modules/batch/batch.errors';
import { BatchOwnership } from 'src/modules/batch/batch-ownership';
import { BatchRepository } from 'src/modules/batch/batch.repository';
import { FileRecord } from 'src/modules/batch/batch.records';
import { OpenAIFile, OpenAIList, toList, toOpenAIFile } from 'src/modules/batch/dto/openai-objects';

/** Content is stored in chunks of about this many characters, cut at line ends. */
const CHUNK_CHARS = 1024 * 1024;
export const FILE_PURPOSES = ['batch'] as const;

export const newFileId = (): string => `file-${randomBytes(12).toString('hex')}`;

/**
 * OpenAI's Files API for batch input: an upload is streamed into PostgreSQL chunk by chunk (never held
 * whole in memory) while each line is checked; the first bad line refuses the file with a 400 naming it,
 * and nothing of it is kept.
 */
@Injectable()
export class FilesService {
  private readonly logger = new Logger('Files');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: BatchRepository,
  ) {}

  async upload(actor: Principal, parts: AsyncIterable<UploadPart>): Promise<OpenAIFile> {
    let purpose: string | undefined;
    let stored: FileRecord | undefined;
    try {
      for await (const part of parts) {
        if (part.kind === 'field') {
          if (part.name === 'purpose') purpose = checkPurpose(part.value);
          continue;
        }
        if (stored) throw BatchErrors.invalid('Send one file per request.', 'file');
        stored = await this.store(actor, part.filename, part.stream);
      }
      if (!stored) throw BatchErrors.invalid("Missing required parameter: 'file'.", 'file');
      if (purpose === undefined)
        throw BatchErrors.invalid("Missing required parameter: 'purpose'.", 'purpose');
    } catch (error) {
      if (stored) await this.discard(stored.id);
      throw error;
    }
    await this.repository.finishFile(stored.id, stored.bytes, stored.lines);
    return toOpenAIFile({ ...stored, purpose, status: 'processed' });
  }

  private async discard(id: string): Promise<void> {
    await this.repository.deleteFile(id).catch((cleanup: unknown) => {
      this.logger.error(`could not delete refused upload ${id}: ${(cleanup as Error).message}`);
    });
  }

  private async store(
    actor: Principal,
    filename: string,
    stream: AsyncIterable<Uint8Array>,
  ): Promise<FileRecord> {
    const id = newFileId();
    const name = (filename || 'upload.jsonl').slice(0, 256);
    await this.repository.insertFile({
      id,
      teamId: actor.teamId,
      principalId: actor.id,
      purpose: 'batch',
      filename: name,
      status: 'uploading',
    });
    const limit = this.config.FILES_MAX_BYTES;
    const maxLines = this.config.BATCH_MAX_LINES;
    const splitter = new JsonlSplitter();
    let bytes = 0;
    let lines = 0;
    let seq = 0;
    let pending = '';
    const take = (found: { line: number; text: string }[]) => {
      for (const { line, text } of found) {
        parseInputLine(text, line);
        if (++lines > maxLines)
          throw new InputLineError(
            line,
            `a batch file holds at most ${maxLines} requests (BATCH_MAX_LINES).`,
          );
        pending += `${text}\n`;
      }
    };
    try {
      for await (const piece of stream) {
        bytes += piece.length;
        if (bytes > limit) throw BatchErrors.tooLarge(limit);
        take(splitter.push(piece));
        if (pending.length >= CHUNK_CHARS) {
          await this.repository.appendChunk(id, seq++, pending);
          pending = '';
        }
      }
      take(splitter.end());
      if (lines === 0) throw BatchErrors.invalid('The file holds no request lines.', 'file');
      if (pending.length > 0) await this.repository.appendChunk(id, seq++, pending);
    } catch (error) {
      await this.discard(id);
      if (error instanceof InputLineError)
        throw BatchErrors.invalid(`Invalid file: ${error.message}`, 'file');
      throw error;
    }
    return {
      id,
      teamId: actor.teamId,
      principalId: actor.id,
      purpose: 'batch',
      filename: name,
      bytes,
      lines,
      status: 'processed',
      createdAt: new Date(),
    };
  }

  async get(actor: Principal, id: string): Promise<OpenAIFile> {
    return toOpenAIFile(await this.visible(actor, id));
  }

  async list(
    actor: Principal,
    query: { purpose?: string; after?: string; limit?: string; order?: string },
  ): Promise<OpenAIList<OpenAIFile>> {
    const limit = boundedLimit(query.limit, 10_000, 10_000);
    if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc')
      throw BatchErrors.invalid("'order' must be 'asc' or 'desc'.", 'order');
    const rows = await this.repository.files(BatchOwnership.scope(actor), {
      purpose: query.purpose,
      after: query.after,
      limit: limit + 1,
      asc: query.order === 'asc',
    });
    return toList(rows.slice(0, limit).map(toOpenAIFile), rows.length > limit);
  }

  async remove(actor: Principal, id: string): Promise<{ id: string; object: 'file'; deleted: boolean }> {
    await this.visible(actor, id);
    const deleted = await this.repository.deleteFile(id);
    if (!deleted) throw BatchErrors.noFile(id);
    return { id, object: 'file', deleted: true };
  }

  /** The file's bytes, streamed chunk by chunk from the database. */
  async content(actor: Principal, id: string): Promise<AsyncIterable<string>> {
    await this.visible(actor, id);
    return this.repository.chunks(id);
  }

  /** A file the actor may see (other teams' answer 404, as unknown ids do). */
  async visible(actor: Principal, id: string): Promise<FileRecord> {
    const file = await this.repository.file(id);
    if (!file || !BatchOwnership.canSee(actor, file)) throw BatchErrors.noFile(id);
    return file;
  }
}

function checkPurpose(value: string): string {
  if ((FILE_PURPOSES as readonly string[]).includes(value)) return value;
  throw BatchErrors.invalid(
    `'${value.slice(0, 64)}' is not a supported purpose: this gateway accepts files with purpose 'batch'.`,
    'purpose',
  );
}

export function boundedLimit(value: string | undefined, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw BatchErrors.invalid(`'limit' must be an integer from 1 to ${max}.`, 'limit');
  return n;
}
