import {
  AdapterRequestError,
  Embeddings,
  EmbeddingsRequest,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/cohere/cohere.types';

const INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering', 'image']);

/**
 * OpenAI embeddings request → Cohere v2 `POST /v2/embed`. v3+ models require `input_type`; a client
 * may send Cohere's own value, otherwise documents are assumed (what most gateway callers index).
 */
export function toCohereEmbedBody(request: EmbeddingsRequest, model: string): Record<string, unknown> {
  const input = request.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
    throw new AdapterRequestError(
      'Cohere embeddings take text input: a string or a list of strings.',
      400,
      'input',
    );
  }
  const inputType = request.input_type ?? 'search_document';
  if (typeof inputType !== 'string' || !INPUT_TYPES.has(inputType)) {
    throw new AdapterRequestError(
      `input_type must be one of ${[...INPUT_TYPES].join(', ')}.`,
      400,
      'input_type',
    );
  }
  const body: Record<string, unknown> = {
    model,
    texts,
    input_type: inputType,
    // Always floats: the gateway encodes them when the client asked for encoding_format=base64.
    embedding_types: ['float'],
  };
  if (request.truncate !== undefined) body.truncate = request.truncate;
  const dimensions = request.dimensions ?? request.output_dimension;
  if (dimensions !== undefined) body.output_dimension = dimensions;
  return body;
}

/** Cohere `embeddings_by_type` response → OpenAI embeddings list; usage from the billed input tokens. */
export function toEmbeddings(body: unknown, model: string): Embeddings {
  if (!isRecord(body) || !isRecord(body.embeddings)) {
    throw new UpstreamProtocolError('Cohere returned an embed response without embeddings');
  }
  const vectors = body.embeddings.float;
  if (!Array.isArray(vectors)) throw new UpstreamProtocolError('Cohere returned no float embeddings');
  const meta = isRecord(body.meta) ? body.meta : {};
  const billed = isRecord(meta.billed_units) ? meta.billed_units : {};
  const tokens = typeof billed.input_tokens === 'number' ? billed.input_tokens : null;
  return {
    object: 'list',
    data: vectors.map((embedding, index) => {
      if (!Array.isArray(embedding) || !embedding.every((v) => typeof v === 'number')) {
        throw new UpstreamProtocolError('Cohere returned a malformed embedding');
      }
      return { object: 'embedding' as const, embedding: embedding, index };
    }),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
