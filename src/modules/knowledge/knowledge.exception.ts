import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export class KnowledgeException extends GatewayException {
  static notFound(name: string): KnowledgeException {
    return new KnowledgeException(
      404,
      GatewayErrorCode.ObjectNotFound,
      `No knowledge base '${name.slice(0, 128)}'.`,
    );
  }

  static conflict(message: string): KnowledgeException {
    return new KnowledgeException(409, GatewayErrorCode.Conflict, message);
  }

  static override invalid(message: string, param: string | null = null): KnowledgeException {
    return new KnowledgeException(400, GatewayErrorCode.InvalidRequest, message, { param });
  }

  /** The server has no pgvector: every knowledge-base route answers this (503, not a client mistake). */
  static vectorUnavailable(): KnowledgeException {
    return new KnowledgeException(
      503,
      GatewayErrorCode.VectorStoreUnavailable,
      "Knowledge bases are unavailable: this gateway's PostgreSQL server has no pgvector extension ('vector'). " +
        'An operator must install pgvector on the server and restart the gateway.',
    );
  }

  /** The embeddings endpoint answered with vectors the knowledge base cannot store. */
  static badEmbeddings(message: string): KnowledgeException {
    return new KnowledgeException(502, GatewayErrorCode.UpstreamError, message);
  }
}
