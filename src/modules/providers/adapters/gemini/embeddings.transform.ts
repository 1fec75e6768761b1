import {
  AdapterRequestError,
  Embeddings,
  EmbeddingsRequest,
  UpstreamProtocolError,
} from 'src/modules/providers/provider-adapter';
import { isRecord, Json } from 'src/modules/providers/adapters/gemini/gemini.types';

/** The texts of an embeddings request; Gemini takes text only (no token arrays). */
export function embeddingInputs(request: EmbeddingsRequest): string[] {
  const input = request.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
    throw new AdapterRequestError(
      "'input' must be a string or a non-empty list of strings for Google models.",
      400,
      'input',
    );
  }
  return texts;
}

function dimensions(request: EmbeddingsRequest): number | undefined {
  const value = request.dimensions;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new AdapterRequestError("'dimensions' must be a positive integer.", 400, 'dimensions');
  }
  return value;
}

/**
 * One text → `:embedContent` `{content}`; several → `:batchEmbedContents` `{requests:[{model, content}]}`
 * (https://ai.google.dev/api/embeddings), as MLflow's Gemini provider chooses.
 */
export function toGeminiEmbeddingsCall(
  request: EmbeddingsRequest,
  model: string,
): { method: 'embedContent' | 'batchEmbedContents'; body: Json } {
  const texts = embeddingInputs(request);
  const size = dimensions(request);
  const one = (text: string): Json => ({
    content: { parts: [{ text }] },
    ...(size === undefined ? {} : { outputDimensionality: size }),
  });
  if (texts.length === 1) return { method: 'embedContent', body: one(texts[0]) };
  return {
    method: 'batchEmbedContents',
    body: { requests: texts.map((text) => ({ model: `models/${model}`, ...one(text) })) },
  };
}

/** `{embedding:{values}}` or `{embeddings:[{values}]}` → OpenAI embeddings list. */
export function toGeminiEmbeddings(body: unknown, model: string, base64: boolean): Embeddings {
  if (!isRecord(body)) throw new UpstreamProtocolError('the Gemini embeddings response is not a JSON object');
  const list = Array.isArray(body.embeddings)
    ? body.embeddings
    : isRecord(body.embedding)
      ? [body.embedding]
      : undefined;
  if (list === undefined) throw new UpstreamProtocolError('the Gemini embeddings response has no embeddings');
  const vectors = list.map((item) => {
    if (!isRecord(item) || !isVector(item.values)) {
      throw new UpstreamProtocolError('a Gemini embedding has no numeric values');
    }
    return item.values;
  });
  const meta = isRecord(body.usageMetadata) ? body.usageMetadata : undefined;
  const prompt = typeof meta?.promptTokenCount === 'number' ? meta.promptTokenCount : null;
  return toEmbeddings(vectors, model, prompt, base64);
}

export function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}

/** OpenAI's `encoding_format: base64` is little-endian float32, which the SDKs decode. */
export function toEmbeddings(
  vectors: number[][],
  model: string,
  promptTokens: number | null,
  base64: boolean,
): Embeddings {
  return {
    object: 'list',
    data: vectors.map((values, index) => ({
      object: 'embedding',
      embedding: base64 ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values,
      index,
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
