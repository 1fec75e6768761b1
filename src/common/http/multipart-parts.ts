import { FastifyRequest } from 'fastify';
import '@fastify/multipart';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** One part of a multipart upload, in the order the client sent them; a file's bytes arrive as a stream. */
export type UploadPart =
  | { kind: 'file'; filename: string; stream: AsyncIterable<Uint8Array> }
  | { kind: 'field'; name: string; value: string };

/** Paths that take `multipart/form-data`; every other path keeps answering 415 for it. */
export function acceptsMultipart(url: string): boolean {
  const path = url.split('?')[0].replace(/\/+$/, '');
  return path === '/v1/files';
}

/**
 * The parts of a multipart request (@fastify/multipart), one at a time: a file part's stream must be
 * read to its end before the next part arrives.
 */
export async function* multipartParts(request: FastifyRequest): AsyncGenerator<UploadPart> {
  if (!request.isMultipart()) {
    throw new GatewayException(
      415,
      GatewayErrorCode.UnsupportedMediaType,
      "Unsupported Content-Type: send the file as 'multipart/form-data'.",
    );
  }
  for await (const part of request.parts()) {
    if (part.type === 'file') yield { kind: 'file', filename: part.filename, stream: part.file };
    else
      yield { kind: 'field', name: part.fieldname, value: typeof part.value === 'string' ? part.value : '' };
  }
}
