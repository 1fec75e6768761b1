import { Injectable } from '@nestjs/common';
import { InternalInvocations, InvocationParent } from 'src/modules/pipeline/internal-invocations.service';
import { KnowledgeException } from 'src/modules/knowledge/knowledge.exception';

/** Texts per embeddings call: OpenAI accepts up to 2048 inputs; smaller calls keep each reservation modest. */
export const EMBED_BATCH = 64;

/**
 * Embeds texts through the gateway's own embeddings endpoint, as a call made on the caller's behalf
 * (InternalInvocations): it is traced, held to the caller's token limits and budgets, and ledgered under
 * the caller with its purpose, like any other call the caller makes.
 */
@Injectable()
export class KnowledgeEmbedder {
  constructor(private readonly internal: InternalInvocations) {}

  async embed(
    parent: InvocationParent,
    purpose: 'kb_ingest' | 'kb_query' | 'semantic_cache',
    endpoint: string,
    texts: readonly string[],
    signal: AbortSignal,
  ): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += EMBED_BATCH) {
      const input = texts.slice(start, start + EMBED_BATCH);
      const response = await this.internal.embeddings(
        parent,
        purpose,
        endpoint,
        { input: [...input], encoding_format: 'float' },
        signal,
      );
      const data = [...(response.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== input.length) {
        throw KnowledgeException.badEmbeddings(
          `The embeddings endpoint '${endpoint}' returned ${data.length} vectors for ${input.length} texts.`,
        );
      }
      for (const item of data) vectors.push(decode(item.embedding, endpoint));
    }
    const dims = vectors[0]?.length;
    if (vectors.some((v) => v.length !== dims || v.length === 0)) {
      throw KnowledgeException.badEmbeddings(
        `The embeddings endpoint '${endpoint}' returned vectors of different sizes.`,
      );
    }
    return vectors;
  }
}

function decode(embedding: number[] | string, endpoint: string): number[] {
  if (Array.isArray(embedding) && embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    return embedding;
  }
  if (typeof embedding === 'string') {
    // base64 little-endian float32, should a provider ignore `encoding_format: float`.
    const bytes = Buffer.from(embedding, 'base64');
    return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4)));
  }
  throw KnowledgeException.badEmbeddings(
    `The embeddings endpoint '${endpoint}' returned a malformed vector.`,
  );
}
