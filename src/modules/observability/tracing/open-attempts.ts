import { Context, Span, trace } from '@opentelemetry/api';

/**
 * The provider attempt currently open under a span (a routing phase, or the server span of a predict
 * request). Routing starts an attempt and then calls the upstream in the same async flow, without a
 * way to activate a context around the call; the context manager below consults this map so that the
 * undici client span of the call (and the `traceparent` it sends upstream) becomes the attempt's child.
 * Attempts of one request run one after the other (retries, fallbacks), so one slot per parent is enough.
 */
export const openAttempts = new WeakMap<Span, Span>();

/** The active context with an open attempt under its span put in that span's place. */
export function withOpenAttempt(active: Context): Context {
  const span = trace.getSpan(active);
  if (span === undefined) return active;
  const attempt = openAttempts.get(span);
  return attempt === undefined ? active : trace.setSpan(active, attempt);
}
