import { AsyncResource } from 'node:async_hooks';
import { deprecate } from 'node:util';

const DEP0172 = 'The asyncResource property on bound functions is deprecated';
/** One shared warning for every bound function (Node's own warns once per process as well). */
const warnDeprecated = deprecate(() => undefined, DEP0172, 'DEP0172');

/** Where a bound function keeps the resource its deprecated `asyncResource` accessor returns. */
const RESOURCE = Symbol('gatehouse.asyncResource');

interface BoundFunction {
  [RESOURCE]: AsyncResource;
}

/**
 * The one getter/setter pair of every bound function's `asyncResource` accessor. Being the same
 * functions each time, V8 reuses one hidden class for all bound functions.
 */
const asyncResourceAccessor = {
  configurable: true,
  enumerable: true,
  get(this: BoundFunction): AsyncResource {
    warnDeprecated();
    return this[RESOURCE];
  },
  set(this: BoundFunction, value: AsyncResource): void {
    warnDeprecated();
    this[RESOURCE] = value;
  },
};

let installed = false;

/**
 * Node 20's `AsyncResource.prototype.bind` costs every POST far more than it should: Fastify binds its
 * body-parser callback once per request with a body.
 *
 * - It builds two `util.deprecate()` wrappers per call for the deprecated `asyncResource` accessor
 *   (DEP0172): about 4% of the gateway's CPU per inference request in a profile.
 * - Worse, each wrapper gets its own hidden class (`deprecate` makes the wrapped closure its
 *   prototype), and a per-call accessor pair would too. Hidden classes live in V8's old generation,
 *   so they keep the closure — and through Fastify's callback the whole request and reply — alive in
 *   every young-generation GC until the next full GC. Every request was copied and promoted: scavenges
 *   took 3–5 ms instead of under 1 ms, and old-space growth forced extra full GCs.
 *
 * This puts in place the same `bind` — same scope, same `this`, same `length`, the same deprecated
 * accessor with the same warning — with one shared accessor pair that reads the resource from a
 * symbol-keyed slot on the bound function. It changes nothing on runtimes whose `bind` has no such
 * accessor (DEP0172 is end-of-life there). Idempotent.
 */
export function installCheapAsyncResourceBind(): void {
  if (installed) return;
  installed = true;
  const probe = new AsyncResource('gatehouse-probe').bind(() => undefined);
  if (Object.getOwnPropertyDescriptor(probe, 'asyncResource')?.get === undefined) return;
  AsyncResource.prototype.bind = function bind<Func extends (...args: never[]) => unknown>(
    this: AsyncResource,
    fn: Func,
    thisArg?: unknown,
  ): Func {
    if (typeof fn !== 'function') {
      throw new TypeError(`The "fn" argument must be of type function. Received ${typeof fn}`);
    }
    const call = fn as unknown as (...args: unknown[]) => unknown;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the bound function closes over it, as Node's does
    const resource = this;
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]) {
            return resource.runInAsyncScope(call, this, ...args);
          }
        : (resource.runInAsyncScope.bind(resource, call, thisArg) as (...args: unknown[]) => unknown);
    (bound as unknown as BoundFunction)[RESOURCE] = resource;
    Object.defineProperties(bound, {
      length: { configurable: true, enumerable: false, value: fn.length, writable: false },
      asyncResource: asyncResourceAccessor,
    });
    return bound as unknown as Func;
  };
}
