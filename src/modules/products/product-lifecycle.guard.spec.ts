import { ExecutionContext } from '@nestjs/common';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { InvocationContext } from 'src/modules/pipeline/invocation-context';
import { ProductLifecycleGuard } from 'src/modules/products/product-lifecycle.guard';
import { ProductLifecycle, ProductStateHolder } from 'src/modules/products/product-state.holder';

function contextFor(entryName: string): { context: ExecutionContext; headers: Record<string, string> } {
  const ctx = Object.create(InvocationContext.prototype) as InvocationContext;
  const headers: Record<string, string> = {};
  Object.assign(ctx, { entry: { name: entryName }, responseHeaders: headers });
  const request = { invocation: ctx };
  const context = { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
  return { context, headers };
}

function guardWith(products: Record<string, ProductLifecycle>): ProductLifecycleGuard {
  const holder = { of: (endpoint: string) => products[endpoint] } as unknown as ProductStateHolder;
  return new ProductLifecycleGuard(holder);
}

describe('ProductLifecycleGuard', () => {
  const deprecatedAt = Date.UTC(2026, 10, 1, 12, 0, 0);
  const future = Date.now() + 86_400_000;

  it('lets calls to unpublished-as-product and published endpoints through untouched', () => {
    const guard = guardWith({ pub: { name: 'p', state: 'published', deprecatedAt: null, sunsetAt: null } });
    for (const name of ['plain', 'pub']) {
      const { context, headers } = contextFor(name);
      expect(guard.canActivate(context)).toBe(true);
      expect(headers).toEqual({});
    }
  });

  it('adds Deprecation (@unix seconds), Sunset (HTTP date) and a Link to a deprecated product', () => {
    const guard = guardWith({
      old: { name: 'old-api', state: 'deprecated', deprecatedAt, sunsetAt: future },
    });
    const { context, headers } = contextFor('old');
    expect(guard.canActivate(context)).toBe(true);
    expect(headers).toEqual({
      deprecation: `@${deprecatedAt / 1000}`,
      sunset: new Date(future).toUTCString(),
      link: '</ui/#/portal/old-api>; rel="deprecation"; type="text/html"',
    });
  });

  it('answers 410 for a retired product and for a deprecated one past its sunset', () => {
    const guard = guardWith({
      gone: { name: 'gone-api', state: 'retired', deprecatedAt: null, sunsetAt: null },
      late: { name: 'late-api', state: 'deprecated', deprecatedAt, sunsetAt: Date.now() - 1_000 },
    });
    for (const [endpoint, product] of [
      ['gone', 'gone-api'],
      ['late', 'late-api'],
    ]) {
      const { context } = contextFor(endpoint);
      let thrown: unknown;
      try {
        guard.canActivate(context);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(GatewayException);
      expect([(thrown as GatewayException).status, (thrown as GatewayException).message]).toEqual([
        410,
        `API product '${product}' has been retired and is no longer served.`,
      ]);
    }
  });
});
