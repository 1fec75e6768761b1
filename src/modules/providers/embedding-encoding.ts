import {
  CanonicalRequest,
  CanonicalResponse,
  Embeddings,
  Operation,
} from 'src/modules/providers/provider-adapter';

/**
 * OpenAI's `encoding_format: "base64"` (the openai SDKs ask for it by default) returns each vector as
 * the base64 of its little-endian float32 bytes. Providers without that option answer floats, so the
 * gateway encodes them itself; vectors that already arrive as strings are left alone.
 */
export function applyEncodingFormat(
  op: Operation,
  request: CanonicalRequest,
  response: CanonicalResponse,
): CanonicalResponse {
  if (op !== 'embeddings' || request.encoding_format !== 'base64') return response;
  const embeddings = response as Embeddings;
  for (const item of embeddings.data) {
    if (Array.isArray(item.embedding)) item.embedding = toBase64Float32(item.embedding);
  }
  return embeddings;
}

export function toBase64Float32(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}
