import { getEventListeners } from 'node:events';
import { InvocationRecord } from 'src/common/observability/invocation';
import { InvocationContext } from 'src/modules/pipeline/invocation-context';

describe('InvocationContext.signal', () => {
  const invocation = (signal: AbortSignal) =>
    new InvocationContext({
      requestId: 'r',
      principal: undefined,
      headers: {},
      source: undefined,
      surface: 'internal',
      op: 'embeddings',
      record: { requestId: 'r', stream: false, cacheHit: false, attempts: 0 } as InvocationRecord,
      body: {},
      signal,
    });

  it('follows the outer signal while the invocation runs', () => {
    const outer = new AbortController();
    const ctx = invocation(outer.signal);
    const inner = ctx.signal;
    expect(inner.aborted).toBe(false);
    outer.abort();
    expect(inner.aborted).toBe(true);
  });

  it('leaves no listener on a shared outer signal once each invocation has finished', () => {
    // An ingestion's one deadline spans hundreds of embeddings calls.
    const outer = new AbortController();
    for (let i = 0; i < 50; i++) {
      const ctx = invocation(outer.signal);
      expect(ctx.signal.aborted).toBe(false);
      expect(getEventListeners(outer.signal, 'abort')).toHaveLength(1);
      ctx.finish();
    }
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
  });
});
