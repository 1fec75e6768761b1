import { AsyncLocalStorage, AsyncResource, executionAsyncId } from 'node:async_hooks';
import { installCheapAsyncResourceBind } from 'src/infra/http/async-resource-bind';

describe('installCheapAsyncResourceBind', () => {
  beforeAll(() => installCheapAsyncResourceBind());

  it('runs the bound function in the resource scope, as Node does', async () => {
    const storage = new AsyncLocalStorage<string>();
    const resource = storage.run('inside', () => new AsyncResource('test'));
    const bound = resource.bind(() => ({ store: storage.getStore(), id: executionAsyncId() }));
    // Called later, from another context: the store and async id are the resource's.
    const seen = await new Promise<{ store: string | undefined; id: number }>((resolve) =>
      storage.run('outside', () => setImmediate(() => resolve(bound()))),
    );
    expect(seen).toEqual({ store: 'inside', id: resource.asyncId() });
  });

  it('keeps this, arguments, return values, thrown errors and length', () => {
    const resource = new AsyncResource('test');
    const target = { base: 10 };
    const add = function (this: { base: number }, a: number, b: number): number {
      return this.base + a + b;
    };
    // @types/node 20 declares bind(fn) only; Node has taken bind(fn, thisArg) since 16.
    const bindWith = resource.bind.bind(resource) as (
      fn: typeof add,
      thisArg: unknown,
    ) => (a: number, b: number) => number;
    expect(bindWith(add, target)(1, 2)).toBe(13);
    const unbound = resource.bind(add);
    expect(unbound.call(target, 3, 4)).toBe(17);
    expect(unbound.length).toBe(2);
    expect(() =>
      resource.bind(() => {
        throw new Error('boom');
      })(),
    ).toThrow('boom');
    expect(() => resource.bind('nope' as unknown as () => void)).toThrow(TypeError);
  });

  it('keeps the deprecated asyncResource accessor', () => {
    const resource = new AsyncResource('test');
    const other = new AsyncResource('other');
    const bound = resource.bind(() => 1) as (() => number) & { asyncResource: AsyncResource };
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(bound.asyncResource).toBe(resource);
      bound.asyncResource = other;
      expect(bound.asyncResource).toBe(other);
    } finally {
      warn.mockRestore();
    }
  });

  it('gives every bound function the same accessor pair (one hidden class, nothing pinned in the old generation)', () => {
    // A per-call getter/setter (or Node's per-call deprecate() wrappers) gives each bound function a
    // hidden class of its own; hidden classes live in V8's old generation and keep the closure, and
    // with it Fastify's request, alive through every young-generation GC.
    const first = Object.getOwnPropertyDescriptor(
      new AsyncResource('a').bind(() => 1),
      'asyncResource',
    );
    const second = Object.getOwnPropertyDescriptor(
      new AsyncResource('b').bind(() => 2),
      'asyncResource',
    );
    expect(first?.get).toBeInstanceOf(Function);
    expect(first?.get).toBe(second?.get);
    expect(first?.set).toBe(second?.set);
    expect(first?.enumerable).toBe(true);
  });

  it('is idempotent', () => {
    const once = AsyncResource.prototype.bind;
    installCheapAsyncResourceBind();
    expect(AsyncResource.prototype.bind).toBe(once);
  });
});
