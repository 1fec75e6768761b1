import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The web console (the SPA built from web/ into dist/web) served at /ui by plain Fastify routes, like
 * the Swagger UI at /docs: public files, no data (every call the SPA makes goes through the admin API
 * and its permission checks). Strict CSP, no third-party origin; hashed assets cached for a year.
 */
export function consoleCsp(connectOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    // With OIDC sign-in, the identity provider's origin too: discovery and the PKCE code exchange.
    ["connect-src 'self'", ...connectOrigins].join(' '),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The policy without OIDC sign-in: nothing but the gateway's own origin. */
export const CONSOLE_CSP = consoleCsp();

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

/** Asset file names Vite emits: a name, a content hash, an extension; nothing that walks directories. */
const ASSET = /^[A-Za-z0-9_.-]{1,200}$/;

interface ConsoleFile {
  body: Buffer;
  type: string;
}

/** Where the built console lives: dist/web under the repository (or image) root, when it was built. */
export function consoleDir(from: string = __dirname): string | undefined {
  let dir = from;
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) {
      const built = join(dir, 'dist', 'web');
      return existsSync(join(built, 'index.html')) ? built : undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function load(dir: string): { index: Buffer; assets: Map<string, ConsoleFile> } {
  const assets = new Map<string, ConsoleFile>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      const path = join(assetDir, name);
      if (!ASSET.test(name) || !statSync(path).isFile()) continue;
      assets.set(name, {
        body: readFileSync(path),
        type: TYPES[extname(name)] ?? 'application/octet-stream',
      });
    }
  }
  return { index: readFileSync(join(dir, 'index.html')), assets };
}

function secure(reply: FastifyReply, csp: string): FastifyReply {
  return reply
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('x-frame-options', 'DENY');
}

/** Registers `/` (browsers are sent to /ui/), `/ui/` and `/ui/assets/:file`. */
export function serveConsole(fastify: FastifyInstance, options: { dir?: string; csp?: string } = {}): void {
  const dir = 'dir' in options ? options.dir : consoleDir();
  const csp = options.csp ?? CONSOLE_CSP;
  const files = dir ? load(dir) : undefined;
  const index = (_request: FastifyRequest, reply: FastifyReply) => {
    if (!files) {
      return secure(reply, csp)
        .code(404)
        .type('text/plain; charset=utf-8')
        .send('The web console is not built: run `npm run build`.');
    }
    return secure(reply, csp).header('cache-control', 'no-cache').type(TYPES['.html']).send(files.index);
  };
  fastify.get('/', (request, reply) => {
    // MLflow's gateway sends a browser at / to its docs; ours goes to the console. API clients get 404 JSON.
    if (String(request.headers.accept ?? '').includes('text/html')) return reply.redirect('/ui/', 302);
    reply.callNotFound();
    return reply;
  });
  // The router ignores trailing slashes: this serves /ui and /ui/ (assets are referenced absolutely).
  fastify.get('/ui/', index);
  fastify.get<{ Params: { file: string } }>('/ui/assets/:file', (request, reply) => {
    const file = ASSET.test(request.params.file) ? files?.assets.get(request.params.file) : undefined;
    if (!file) return secure(reply, csp).code(404).type('text/plain; charset=utf-8').send('Not Found');
    return secure(reply, csp)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(file.type)
      .send(file.body);
  });
}
