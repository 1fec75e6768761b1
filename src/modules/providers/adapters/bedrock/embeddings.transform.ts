import {
  AdapterRequestError,
  Embeddings,
  EmbeddingsRequest,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/bedrock/converse.types';

export type EmbeddingFamily = 'titan' | 'cohere';

/** Cohere's `input_type` values; `search_document` is what a client indexing text means by default. */
const COHERE_INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering']);

/** The InvokeModel body format of an embeddings model id (inference-profile prefixes such as `us.` allowed). */
export function embeddingFamily(modelId: string): EmbeddingFamily | undefined {
  if (/(^|[.:/])amazon\.titan-embed-/.test(modelId)) return 'titan';
  if (/(^|[.:/])cohere\.embed-/.test(modelId)) return 'cohere';
  return undefined;
}

function texts(request: EmbeddingsRequest): string[] {
  const input = request.input;
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string')) {
    return input;
  }
  throw new AdapterRequestError(
    'input must be a string or a non-empty array of strings for Amazon Bedrock embeddings',
    400,
    'input',
  );
}

/**
 * Titan: `{"inputText", "dimensions"?, "normalize"?}`, one text per call (InvokeModel takes one).
 * Cohere: `{"texts", "input_type", "truncate"?}`, a batch per call.
 */
export function toEmbeddingsBody(
  request: EmbeddingsRequest,
  family: EmbeddingFamily,
): Record<string, unknown> {
  const list = texts(request);
  if (family === 'titan') {
    if (list.length !== 1) {
      throw new AdapterRequestError(
        'Amazon Titan embedding models take one input per request; send the texts one at a time.',
        422,
        'input',
      );
    }
    const body: Record<string, unknown> = { inputText: list[0] };
    if (typeof request.dimensions === 'number') body.dimensions = request.dimensions;
    if (typeof request.normalize === 'boolean') body.normalize = request.normalize;
    return body;
  }
  const inputType = request.input_type ?? 'search_document';
  if (typeof inputType !== 'string' || !COHERE_INPUT_TYPES.has(inputType)) {
    throw new AdapterRequestError(
      `input_type must be one of ${[...COHERE_INPUT_TYPES].join(', ')} for Cohere embedding models`,
      400,
      'input_type',
    );
  }
  const body: Record<string, unknown> = { texts: list, input_type: inputType };
  if (typeof request.truncate === 'string') body.truncate = request.truncate;
  return body;
}

export function toEmbeddings(body: unknown, family: EmbeddingFamily, model: string): Embeddings {
  if (!isRecord(body)) throw new UpstreamProtocolError('embeddings response is not an object');
  if (family === 'titan') {
    const vector = body.embedding;
    if (!isVector(vector)) throw new UpstreamProtocolError('Titan response without an embedding');
    const tokens = typeof body.inputTextTokenCount === 'number' ? body.inputTextTokenCount : null;
    return {
      object: 'list',
      data: [{ object: 'embedding', embedding: vector, index: 0 }],
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }
  // `embeddings` is a list of vectors, or `{float: [...]}` when `embedding_types` was asked for.
  const raw = isRecord(body.embeddings) ? body.embeddings.float : body.embeddings;
  if (!Array.isArray(raw) || !raw.every(isVector)) {
    throw new UpstreamProtocolError('Cohere response without embeddings');
  }
  return {
    object: 'list',
    data: raw.map((embedding, index) => ({ object: 'embedding', embedding, index })),
    model,
    // Cohere's InvokeModel body carries no token counts.
    usage: { prompt_tokens: null, total_tokens: null },
  };
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((x) => typeof x === 'number');
}
