import {
  Embeddings,
  EmbeddingsRequest,
  UpstreamProtocolError,
  AdapterRequestError,
} from 'src/modules/providers/provider-adapter';
import { isRecord, Json } from 'src/modules/providers/adapters/gemini/gemini.types';
import {
  embeddingInputs,
  isVector,
  toEmbeddings,
} from 'src/modules/providers/adapters/gemini/embeddings.transform';

/**
 * Vertex AI's text embeddings API (`:predict`,
 * https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api): one
 * instance per text, `outputDimensionality` from OpenAI's `dimensions`.
 */
export function toVertexPredictBody(request: EmbeddingsRequest): Json {
  const body: Json = { instances: embeddingInputs(request).map((content) => ({ content })) };
  const size = request.dimensions;
  if (size !== undefined && size !== null) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new AdapterRequestError("'dimensions' must be a positive integer.", 400, 'dimensions');
    }
    body.parameters = { outputDimensionality: size };
  }
  return body;
}

/** `{predictions:[{embeddings:{values, statistics:{token_count}}}]}` → OpenAI embeddings; tokens summed. */
export function toVertexEmbeddings(body: unknown, model: string, base64: boolean): Embeddings {
  if (!isRecord(body) || !Array.isArray(body.predictions)) {
    throw new UpstreamProtocolError('the Vertex AI predict response has no predictions');
  }
  let tokens = 0;
  let counted = false;
  const vectors = body.predictions.map((prediction) => {
    const embeddings = isRecord(prediction) ? prediction.embeddings : undefined;
    if (!isRecord(embeddings) || !isVector(embeddings.values)) {
      throw new UpstreamProtocolError('a Vertex AI prediction has no embedding values');
    }
    const count = isRecord(embeddings.statistics) ? embeddings.statistics.token_count : undefined;
    if (typeof count === 'number') {
      tokens += count;
      counted = true;
    }
    return embeddings.values;
  });
  return toEmbeddings(vectors, model, counted ? tokens : null, base64);
}
