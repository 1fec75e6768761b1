/**
 * The baseline: the least a Node.js proxy can do. A bare `node:http` server per upstream
 * (`BARE_UPSTREAMS=http://127.0.0.1:1234,…`) that buffers the request body, forwards it with a
 * pooled keep-alive undici `Pool` to the same path, and pipes the response back without parsing it.
 */
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import { announceReady, exitWhenParentGoes } from './common';

/** Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

function forwardable(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      error: { message: error instanceof Error ? error.message : String(error), type: 'bad_gateway' },
    }),
  );
}

function proxy(pool: Pool): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    readBody(req)
      .then((body) =>
        pool.request({
          path: req.url ?? '/',
          method: req.method === 'GET' ? 'GET' : 'POST',
          headers: forwardable(req.headers) as Record<string, string>,
          body: req.method === 'GET' ? undefined : body,
          signal: abort.signal,
        }),
      )
      .then((upstream) => {
        res.writeHead(upstream.statusCode, forwardable(upstream.headers));
        pipeline(upstream.body, res, () => undefined);
      })
      .catch((error: unknown) => fail(res, error));
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const upstreams = (process.env.BARE_UPSTREAMS ?? '').split(',').filter((u) => u.trim() !== '');
  if (upstreams.length === 0) throw new Error('BARE_UPSTREAMS must list at least one upstream origin');
  const pools = upstreams.map((origin) => new Pool(origin, { connections: 256, keepAliveTimeout: 30_000 }));
  const servers = pools.map((pool) => {
    const server = createServer({ keepAliveTimeout: 65_000 }, proxy(pool));
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    return server;
  });
  const ports = await Promise.all(servers.map(listen));
  exitWhenParentGoes(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await Promise.all(pools.map((pool) => pool.destroy()));
  });
  announceReady(ports);
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-proxy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
