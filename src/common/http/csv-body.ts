/**
 * A `text/csv` request body (the MLflow scoring protocol's CSV form). Only scoring paths parse CSV;
 * the handler of an LLM endpoint answers 415 for it, so JSON stays the only body elsewhere.
 */
export class CsvBody {
  constructor(readonly text: string) {}
}

/** Paths where a `text/csv` body may be meant for a model-serving endpoint. */
export function acceptsCsv(url: string): boolean {
  const path = url.split('?')[0];
  return path.startsWith('/predict/') || /^\/(endpoints|gateway)\/[^/]+\/invocations\/?$/.test(path);
}

/** Webhook deliveries are verified over their exact bytes, so their raw text is kept. */
export function keepsRawBody(url: string): boolean {
  return url.startsWith('/webhooks/');
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
  }
}
