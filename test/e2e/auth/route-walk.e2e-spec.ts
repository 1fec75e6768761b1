import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { IS_PUBLIC_KEY, REQUIRED_PERMISSION_KEY } from 'src/common/auth/auth.decorators';
import { isPermission } from 'src/modules/auth/permissions';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

/** Routes served by Fastify plugins outside Nest's guards: the API docs, public by design. */

/**
 * A Fastify route path with each parameter (`:name`, or `:name(regex)`) replaced; `::` is a literal
 * colon (Gemini's `models/{name}:generateContent`).
 */
function withParams(path: string, replace: (name: string) => string): string {
  return path
    .split('::')
    .map((part) => part.replace(/:(\w+)(?:\((?:[^()]|\([^()]*\))*\))?/g, (_m, name: string) => replace(name)))
    .join(':');
}

describe('route walk: every handler is @Public() or declares a permission', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway('endpoints: []\n');
  });

  afterAll(async () => {
    await gateway?.close();
  });

  /** Every controller of every module of the running app. */
  const controllers = (): InstanceWrapper[] =>
    [...gateway.app.get(ModulesContainer).values()].flatMap((module) => [...module.controllers.values()]);

  interface Handler {
    method: string;
    path: string;
    route: string;
    isPublic: boolean;
    permission: string | undefined;
  }

  function walk(): Handler[] {
    const scanner = new MetadataScanner();
    const reflector = gateway.app.get(Reflector);
    const handlers: Handler[] = [];
    for (const wrapper of controllers()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || !wrapper.metatype) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      const base = String(Reflect.getMetadata(PATH_METADATA, wrapper.metatype) ?? '');
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, (...args: unknown[]) => unknown>)[name];
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const own = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
        const targets = [handler, wrapper.metatype];
        handlers.push({
          method: RequestMethod[method],
          path,
          route: `${RequestMethod[method]} ${path}`,
          isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets) === true,
          permission: reflector.getAllAndOverride<string>(REQUIRED_PERMISSION_KEY, targets),
        });
      }
    }
    return handlers;
  }

  /** Public routes that verify an HMAC signature instead of a caller's credentials. */
  const SIGNED_WEBHOOKS = ['/webhooks/mlflow'];
  /** Public to the default guards, behind a guard of their own (METRICS_TOKEN or `metrics.read`). */
  const OWN_GUARD = ['/metrics'];

  it('finds no handler without a decorator, and only known permissions', () => {
    const handlers = walk();
    expect(handlers.length).toBeGreaterThan(30);
    expect(handlers.filter((h) => !h.isPublic && !h.permission).map((h) => h.route)).toEqual([]);
    expect(handlers.filter((h) => h.permission && !isPermission(h.permission)).map((h) => h.route)).toEqual(
      [],
    );
    // Public means health probes, webhooks that authenticate by their own signature, and the console's
    // sign-in settings (public identifiers the browser needs before anyone has signed in).
    expect(
      handlers
        .filter((h) => h.isPublic)
        .map((h) => h.route)
        .sort(),
    ).toEqual(
      [
        'GET /admin/v1/console/config',
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        ...OWN_GUARD.map((path) => `GET ${path}`),
        ...SIGNED_WEBHOOKS.map((path) => `POST ${path}`),
      ].sort(),
    );
  });

  it('documents every handler in the OpenAPI spec', async () => {
    const spec = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set(
      Object.entries(spec.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    // Swagger names a trailing wildcard `{path}`.
    const routes = walk().map(
      (h) => `${h.method} ${withParams(h.path, (name) => `{${name}}`).replace(/\/\*$/, '/{path}')}`,
    );
    expect(routes.filter((route) => !documented.has(route))).toEqual([]);
    expect(documented.size).toBe(new Set(routes).size);
  });

  it('refuses an unauthenticated request before reading its body', async () => {
    for (const [body, type] of [
      ['{"model": ', 'application/json'],
      ['x'.repeat(4 * 1024 * 1024), 'application/json'],
      ['a=b', 'application/x-www-form-urlencoded'],
    ]) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      const error = ((await response.json()) as { error: { code: string } }).error;
      expect([response.status, error.code]).toEqual([401, 'missing_credentials']);
    }
    // With a credential, the body is parsed as before.
    const parsed = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: '{"model": ',
    });
    expect(parsed.status).toBe(400);
  });

  it('answers 401 to every non-public route called without credentials', async () => {
    const checked: string[] = [];
    for (const h of walk()) {
      const path = withParams(h.path, () => '00000000-0000-4000-8000-000000000000');
      const response = await fetch(`${gateway.url}${path}`, {
        method: h.method,
        headers: h.method === 'GET' || h.method === 'DELETE' ? {} : { 'content-type': 'application/json' },
        body: h.method === 'GET' || h.method === 'DELETE' ? undefined : '{}',
      });
      // An unsigned webhook is refused by its signature check, also with 401.
      const refused = !h.isPublic || SIGNED_WEBHOOKS.includes(path) || OWN_GUARD.includes(path);
      expect([h.method, path, response.status === 401]).toEqual([h.method, path, refused]);
      checked.push(path);
    }
    expect(checked.length).toBeGreaterThan(30);
  });
});
