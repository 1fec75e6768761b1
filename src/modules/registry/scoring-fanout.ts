import { GatewayException } from 'src/common/errors/gateway.exception';
import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';
import { INPUT_FIELDS } from 'src/modules/registry/scoring-protocol';

/*
 * Fan-out of a large scoring request (`gatehouse.batch.max_rows_per_call`): the body is cut into
 * chunks of rows in whichever of the scoring protocol's formats it came, each chunk a complete body the
 * scoring server accepts on its own, and the chunks' `{"predictions": ...}` answers are joined back in
 * row order. Rows are numbered from 0; ranges are inclusive, as callers read them in error messages.
 */

/** One chunk: rows [start, end] (inclusive) of the request, as the body to send. */
export interface ScoringChunk {
  start: number;
  end: number;
  text: string;
}

/** A chunk that failed for good (with `partial: true`). */
export interface ChunkError {
  rows: [number, number];
  status: number;
  message: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Row ranges [start, end) of at most `max` rows covering `rows` rows. */
function ranges(rows: number, max: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < rows; start += max) out.push([start, Math.min(rows, start + max)]);
  return out;
}

/** `{col: [..], ...}` with every column the same length: that length, else undefined. */
function columnRows(columns: Json): number | undefined {
  const values = Object.values(columns);
  if (values.length === 0 || !values.every(Array.isArray)) return undefined;
  const rows = (values[0] as unknown[]).length;
  return values.every((v) => (v as unknown[]).length === rows) ? rows : undefined;
}

function sliceColumns(columns: Json, start: number, end: number): Json {
  return Object.fromEntries(
    Object.entries(columns).map(([key, value]) => [key, (value as unknown[]).slice(start, end)]),
  );
}

/**
 * The input field's rows and how to cut them, or undefined when the body cannot be split row-wise (an
 * LLM payload, a single record, ragged columns): such a body goes to the scoring server whole.
 */
function jsonSlicer(body: Json): { rows: number; slice: (start: number, end: number) => Json } | undefined {
  const field = INPUT_FIELDS.find((key) => key in body);
  if (!field) return undefined;
  const input = body[field];
  const withInput = (value: unknown): Json => ({ ...body, [field]: value });
  if (field === 'dataframe_split') {
    if (!isObject(input) || !Array.isArray(input.data)) return undefined;
    const data = input.data as unknown[];
    const index = input.index;
    if (index !== undefined && (!Array.isArray(index) || index.length !== data.length)) return undefined;
    return {
      rows: data.length,
      slice: (start, end) =>
        withInput({
          ...input,
          data: data.slice(start, end),
          ...(Array.isArray(index) ? { index: index.slice(start, end) } : {}),
        }),
    };
  }
  if (Array.isArray(input)) {
    return { rows: input.length, slice: (start, end) => withInput(input.slice(start, end)) };
  }
  // `instances` and `inputs` may be a dict of columns (TF serving's columnar format).
  if ((field === 'instances' || field === 'inputs') && isObject(input)) {
    const rows = columnRows(input);
    if (rows === undefined) return undefined;
    return { rows, slice: (start, end) => withInput(sliceColumns(input, start, end)) };
  }
  return undefined;
}

/** CSV records (a quoted field may hold line breaks), without their line terminators. */
function csvRecords(text: string): string[] {
  const records: string[] = [];
  let quoted = false;
  let begin = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) {
      records.push(text.slice(begin, i > begin && text[i - 1] === '\r' ? i - 1 : i));
      begin = i + 1;
    }
  }
  if (begin < text.length) records.push(text.slice(begin));
  return records.filter((record) => record.length > 0);
}

/**
 * The chunks of a scoring body with more than `maxRows` rows; undefined when it has no more (or cannot
 * be split), in which case it is sent as it came.
 */
export function splitScoringBody(
  body: { json: unknown } | { csv: string },
  maxRows: number,
): ScoringChunk[] | undefined {
  if ('csv' in body) {
    const eol = body.csv.includes('\r\n') ? '\r\n' : '\n';
    const [header, ...rows] = csvRecords(body.csv);
    if (header === undefined || rows.length <= maxRows) return undefined;
    return ranges(rows.length, maxRows).map(([start, end]) => ({
      start,
      end: end - 1,
      text: [header, ...rows.slice(start, end)].join(eol) + eol,
    }));
  }
  if (!isObject(body.json)) return undefined;
  const slicer = jsonSlicer(body.json);
  if (!slicer || slicer.rows <= maxRows) return undefined;
  return ranges(slicer.rows, maxRows).map(([start, end]) => ({
    start,
    end: end - 1,
    text: JSON.stringify(slicer.slice(start, end)),
  }));
}

function unjoinable(): RegistryException {
  const message =
    "The scoring server's answers to the request's chunks could not be joined: each must be " +
    '{"predictions": [...]} (or a dict of columns) with one prediction per row.';
  return new RegistryException(502, RegistryErrorCode.ModelUnavailable, message, {
    error_code: 'BAD_GATEWAY',
    message,
  });
}

/**
 * One `{"predictions": ...}` answer from the chunks' answers, in row order. A failed chunk (undefined,
 * with `partial: true`) contributes one null per row, and the answer gains `errors`.
 */
export function joinPredictions(
  chunks: readonly ScoringChunk[],
  answers: readonly (string | undefined)[],
  errors: readonly ChunkError[],
): string {
  const parsed = answers.map((text) => {
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw unjoinable();
    }
    if (!isObject(value) || !('predictions' in value)) throw unjoinable();
    return value.predictions;
  });
  const present = parsed.filter((p) => p !== undefined);
  let predictions: unknown;
  if (present.every(Array.isArray)) {
    predictions = parsed.flatMap((p, i) =>
      p === undefined ? new Array<null>(chunks[i].end - chunks[i].start + 1).fill(null) : (p as unknown[]),
    );
  } else if (present.every((p) => isObject(p) && columnRows(p) !== undefined)) {
    const keys = Object.keys(present[0] as Json);
    if (!present.every((p) => sameKeys(Object.keys(p as Json), keys))) throw unjoinable();
    predictions = Object.fromEntries(
      keys.map((key) => [
        key,
        parsed.flatMap((p, i) =>
          p === undefined
            ? new Array<null>(chunks[i].end - chunks[i].start + 1).fill(null)
            : ((p as Json)[key] as unknown[]),
        ),
      ]),
    );
  } else {
    throw unjoinable();
  }
  return JSON.stringify(errors.length > 0 ? { predictions, errors } : { predictions });
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((key) => b.includes(key));
}

/** A chunk's final failure as the caller sees it, naming its rows. */
export function chunkFailure(chunk: ScoringChunk, error: unknown): unknown {
  if (!(error instanceof GatewayException)) return error;
  const message = `rows ${chunk.start}–${chunk.end} failed: ${error.message}`;
  const detail = error.options.mlflowDetail;
  const errorCode =
    isObject(detail) && typeof detail.error_code === 'string' ? detail.error_code : 'INTERNAL_ERROR';
  return new RegistryException(
    error.status,
    RegistryErrorCode.ModelUnavailable,
    message,
    { error_code: errorCode, message },
    {
      upstreamStatus: error instanceof RegistryException ? error.upstreamStatus : undefined,
      retryAfter: error.options.retryAfter,
    },
  );
}

/** The `errors` entry of a chunk that failed for good. */
export function chunkError(chunk: ScoringChunk, error: unknown): ChunkError {
  return {
    rows: [chunk.start, chunk.end],
    status: error instanceof GatewayException ? error.status : 500,
    message: error instanceof GatewayException ? error.message : 'Internal error.',
  };
}

/** Emitted per finished chunk of a fanned-out scoring request (`gatehouse_scoring_chunks_total`). */
export const SCORING_CHUNK_EVENT = 'scoring.chunk';

/** `success`: answered; `failure`: failed for good (after the endpoint's retries and fallbacks). */
export type ChunkOutcome = 'success' | 'failure';

export class ScoringChunkEvent {
  constructor(
    /** The model-serving endpoint the request named. */
    readonly endpoint: string,
    readonly outcome: ChunkOutcome,
  ) {}
}

/**
 * Runs `score` over the chunks, at most `concurrency` at a time, in order of rows. Without `partial`,
 * the first chunk that fails for good aborts the others and fails the whole; with it, failures are
 * collected (undefined answers) unless every chunk failed. `observe` hears each chunk that finished:
 * the chunks a first failure aborted, and those cut short by the caller leaving, are neither.
 */
export async function scoreChunks(
  chunks: readonly ScoringChunk[],
  concurrency: number,
  partial: boolean,
  signal: AbortSignal,
  score: (chunk: ScoringChunk, signal: AbortSignal) => Promise<string>,
  observe: (outcome: ChunkOutcome) => void = () => undefined,
): Promise<{ answers: (string | undefined)[]; errors: ChunkError[] }> {
  const stop = new AbortController();
  const chunkSignal = AbortSignal.any([signal, stop.signal]);
  const answers: (string | undefined)[] = new Array<string | undefined>(chunks.length).fill(undefined);
  const failures: { index: number; error: unknown }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length && !chunkSignal.aborted) {
      const index = next++;
      try {
        answers[index] = await score(chunks[index], chunkSignal);
        observe('success');
      } catch (error) {
        failures.push({ index, error });
        if (!chunkSignal.aborted) observe('failure');
        if (!partial) stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  if (signal.aborted) throw signal.reason;
  if (!partial && failures.length > 0) {
    // The first failure in time stopped the rest; later ones are only its echo (aborted calls).
    throw chunkFailure(chunks[failures[0].index], failures[0].error);
  }
  failures.sort((a, b) => a.index - b.index);
  if (failures.length === chunks.length) throw chunkFailure(chunks[0], failures[0].error);
  return { answers, errors: failures.map((f) => chunkError(chunks[f.index], f.error)) };
}

/**
 * `partial` is Gatehouse's, not the scoring protocol's: read and removed before the body is forwarded.
 */
export function takePartialFlag(body: Json): { body: Json; partial: boolean } {
  if (!('partial' in body) || !INPUT_FIELDS.some((key) => key in body)) return { body, partial: false };
  const { partial, ...rest } = body;
  if (typeof partial !== 'boolean') {
    const message = "'partial' must be true or false.";
    throw new RegistryException(400, RegistryErrorCode.ModelUnavailable, message, {
      error_code: 'BAD_REQUEST',
      message,
    });
  }
  return { body: rest, partial };
}
