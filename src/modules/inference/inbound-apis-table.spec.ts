import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamicModule, RequestMethod, Type } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AppModule } from 'src/app.module';
import { AppConfig } from 'src/config/env.config';
import { INVOCATION_SPEC } from 'src/modules/pipeline/invocation-context';

/*
 * The README's "Inbound APIs" table against the routes the app registers: every row names a registered
 * route, and every inference entry point (@Invocation) has a row. Read from the module graph's metadata,
 * without booting anything.
 */

type ModuleRef = Type | DynamicModule | Promise<DynamicModule>;

interface Route {
  route: string;
  invocation: boolean;
}

function controllersOf(root: ModuleRef): Type[] {
  const seen = new Set<unknown>();
  const controllers = new Set<Type>();
  const visit = (ref: ModuleRef | undefined): void => {
    if (!ref || ref instanceof Promise || seen.has(ref)) return;
    seen.add(ref);
    const dynamic = 'module' in ref ? ref : undefined;
    const cls = dynamic ? dynamic.module : (ref as Type);
    const metadata = (key: string) => (Reflect.getMetadata(key, cls) ?? []) as unknown[];
    for (const c of [...metadata(MODULE_METADATA.CONTROLLERS), ...(dynamic?.controllers ?? [])])
      controllers.add(c as Type);
    for (const i of [...metadata(MODULE_METADATA.IMPORTS), ...(dynamic?.imports ?? [])])
      visit(i as ModuleRef);
    if (dynamic) visit(cls);
  };
  visit(root);
  return [...controllers];
}

function routesOf(controllers: Type[]): Route[] {
  const out: Route[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler !== 'function' || name === 'constructor') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const own = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (method === undefined || own === undefined) continue;
      // Fastify's spelling (`:name(^regex)`, `::` for a literal colon) as the README writes a path.
      const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`
        .replace(/\/+/g, '/')
        .replace(/\(\^[^)]*\)/g, '')
        .replace(/::/g, ':');
      out.push({
        route: `${RequestMethod[method]} ${path}`,
        invocation: Reflect.getMetadata(INVOCATION_SPEC, handler) !== undefined,
      });
    }
  }
  return out;
}

/** `METHOD /path/:param` of each row of the README's "Inbound APIs" table. */
function tableRoutes(): string[] {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  const start = readme.indexOf('\n## Inbound APIs\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => /^\| `([A-Z]+ [^`]+)`/.exec(line)![1].replace(/\{(\w+)\}/g, ':$1'));
}

describe('README "Inbound APIs" table', () => {
  const routes = routesOf(controllersOf(AppModule.forRoot({} as AppConfig)));
  const rows = tableRoutes();

  it('reads the routes and the rows', () => {
    expect(routes.filter((r) => r.invocation).length).toBeGreaterThanOrEqual(14);
    expect(routes.map((r) => r.route)).toContain('POST /v1/messages');
    expect(rows.length).toBe(new Set(rows).size);
  });

  it('lists only routes the app registers', () => {
    const registered = new Set(routes.map((r) => r.route));
    expect(rows.filter((row) => !registered.has(row))).toEqual([]);
  });

  it('lists every inference entry point', () => {
    expect(routes.filter((r) => r.invocation && !rows.includes(r.route)).map((r) => r.route)).toEqual([]);
  });
});
