import { AsyncResource } from 'node:async_hooks';
import { deprecate } from 'node:util';

const DEP0172 = 'The asyncResource property on bound functions is deprecated';
/** One shared warning for every bound function (Node's own warns once per process as well). */
const warnDeprecated = deprecate(() => undefined, DEP0172, 'DEP0172');

let installed = false;

/**
 * Node 20's `AsyncResource.prototype.bind` creates two `util.deprecate()` wrappers on every call, for
 * the deprecated `asyncResource` accessor it puts on the bound function (DEP0172). Fastify binds its
 * body-parser callback once per request with a body, so every POST paid for them: about 4% of the
 * gateway's CPU per inference request in a profile. This puts in place the same `bind` — same scope,
 * same `this`, same `length`, the same deprecated accessor with the same warning — built from one
 * shared warning function. It changes nothing on runtimes whose `bind` has no such accessor
 * (DEP0172 is end-of-life there). Idempotent.
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
    // The deprecated accessor may swap it, as Node's does.
    let self = resource;
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]) {
            return resource.runInAsyncScope(call, this, ...args);
          }
        : (resource.runInAsyncScope.bind(resource, call, thisArg) as (...args: unknown[]) => unknown);
    Object.defineProperties(bound, {
      length: { configurable: true, enumerable: false, value: fn.length, writable: false },
      asyncResource: {
        configurable: true,
        enumerable: true,
        get() {
          warnDeprecated();
          return self;
        },
        set(value: AsyncResource) {
          warnDeprecated();
          self = value;
        },
      },
    });
    return bound as unknown as Func;
  };
}
