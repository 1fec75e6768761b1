import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';
import { CanonicalChunk, CanonicalResponse, Operation, Usage } from 'src/modules/providers/provider-adapter';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/**
 * What one cache entry holds: the canonical (OpenAI-shaped) answer, as a response or as stream chunks;
 * or, for an `ml/v1/predict` endpoint, the scoring server's JSON text as it was sent.
 */
export interface CacheEntry {
  /** The logical key it was stored under: checked on read, so an entry never answers another key. */
  key: string;
  createdAt: number;
  op: Operation | 'predict';
  kind: 'response' | 'stream' | 'prediction';
  response?: CanonicalResponse;
  chunks?: CanonicalChunk[];
  body?: string;
}

const RAW = 0x00;
const BROTLI = 0x01;
/** Quality 5: most of brotli's gain on JSON at a small fraction of the default (11) CPU cost. */
const BROTLI_OPTIONS = {
  params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
};

/** JSON of an entry; stream chunks arrive already serialised (captured before the writer touches them). */
export function entryJson(
  entry: Pick<CacheEntry, 'key' | 'createdAt' | 'op' | 'kind'>,
  body: { response: CanonicalResponse } | { chunkJson: string[] } | { prediction: string },
): string {
  const head = `{"key":${JSON.stringify(entry.key)},"createdAt":${entry.createdAt},"op":${JSON.stringify(entry.op)},"kind":${JSON.stringify(entry.kind)}`;
  if ('response' in body) return `${head},"response":${JSON.stringify(body.response)}}`;
  if ('prediction' in body) return `${head},"body":${JSON.stringify(body.prediction)}}`;
  return `${head},"chunks":[${body.chunkJson.join(',')}]}`;
}

/** One flag byte (raw or brotli) followed by the JSON bytes. */
export async function encodeEntry(json: string, compressAtBytes: number): Promise<Buffer> {
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length < compressAtBytes) return Buffer.concat([Buffer.of(RAW), bytes]);
  const packed = await compress(bytes, BROTLI_OPTIONS);
  // Tiny or incompressible bodies are kept raw.
  if (packed.length >= bytes.length) return Buffer.concat([Buffer.of(RAW), bytes]);
  return Buffer.concat([Buffer.of(BROTLI), packed]);
}

export class CacheEntryFormatError extends Error {}

export async function decodeEntry(stored: Buffer, expectedKey: string): Promise<CacheEntry> {
  if (stored.length < 2) throw new CacheEntryFormatError('empty cache entry');
  const flag = stored[0];
  const payload = stored.subarray(1);
  let json: string;
  if (flag === RAW) json = payload.toString('utf8');
  else if (flag === BROTLI) json = (await decompress(payload)).toString('utf8');
  else throw new CacheEntryFormatError('unknown cache entry format');
  const entry = JSON.parse(json) as CacheEntry;
  if (entry.key !== expectedKey) throw new CacheEntryFormatError('cache entry belongs to another key');
  if (
    typeof entry.createdAt !== 'number' ||
    (entry.kind === 'response' && (entry.response === null || typeof entry.response !== 'object')) ||
    (entry.kind === 'stream' && !Array.isArray(entry.chunks)) ||
    (entry.kind === 'prediction' && typeof entry.body !== 'string')
  ) {
    throw new CacheEntryFormatError('malformed cache entry');
  }
  return entry;
}

/** Token usage of an entry (the last chunk carrying usage, for streams), or undefined if none was reported. */
export function usageOf(entry: CacheEntry): Usage | undefined {
  if (entry.kind === 'response') return entry.response?.usage ?? undefined;
  if (entry.kind === 'prediction') return undefined;
  const chunks = entry.chunks ?? [];
  for (let i = chunks.length - 1; i >= 0; i--) {
    const usage = chunks[i].usage;
    if (usage) return usage;
  }
  return undefined;
}
