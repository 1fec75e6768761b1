import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { loadAppConfig } from 'src/config/env.config';
import { UpstreamFailure, UpstreamHttpClient } from 'src/infra/http/upstream-http.client';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local upstream whose behaviour each test sets; it counts TCP connections and closed requests. */
class LocalUpstream {
  handler: Handler = (_req, res) => res.end('ok');
  connections = 0;
  closedEarly = 0;
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) this.closedEarly++;
      });
      this.handler(req, res);
    });
    this.server.on('connection', () => this.connections++);
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
}

describe('UpstreamHttpClient', () => {
  let upstream: LocalUpstream;
  let base: string;
  let client: UpstreamHttpClient;
  const request = (path = '/v1/chat') => ({
    url: `${base}${path}`,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const open = () => ({ signal: new AbortController().signal });

  beforeEach(async () => {
    upstream = new LocalUpstream();
    base = await upstream.start();
    client = new UpstreamHttpClient(loadAppConfig({ UPSTREAM_MAX_RESPONSE_BYTES: '4096' }));
  });

  afterEach(async () => {
    await client.onModuleDestroy();
    await upstream.stop();
  });

  describe('fetchText', () => {
    it('reads status, headers and the whole body, and keeps the connection for the next call', async () => {
      upstream.handler = (_req, res) => {
        res.writeHead(201, { 'x-one': '1' });
        res.write('{"a":');
        setTimeout(() => res.end('1}'), 5);
      };
      const first = await client.fetchText(request(), open());
      expect(first).toMatchObject({ status: 201, text: '{"a":1}' });
      expect(first.headers['x-one']).toBe('1');
      for (let i = 0; i < 5; i++) await client.fetchText(request(), open());
      // undici opens a second connection once, on the second request to an origin; then reuses them.
      expect(upstream.connections).toBeLessThanOrEqual(2);
    });

    it('decodes a multi-byte character split across chunks', async () => {
      const bytes = Buffer.from('héllo wörld €', 'utf8');
      upstream.handler = (_req, res) => {
        res.write(bytes.subarray(0, 2));
        setTimeout(() => res.end(bytes.subarray(2)), 5);
      };
      expect((await client.fetchText(request(), open())).text).toBe('héllo wörld €');
    });

    it('refuses an answer over UPSTREAM_MAX_RESPONSE_BYTES', async () => {
      upstream.handler = (_req, res) => res.end('x'.repeat(5000));
      await expect(client.fetchText(request(), open())).rejects.toMatchObject({ kind: 'too_large' });
    });

    it('aborts the upstream call when the signal fires, and refuses an aborted signal at once', async () => {
      upstream.handler = () => undefined; // never answers
      const controller = new AbortController();
      const pending = client.fetchText(request(), { signal: controller.signal });
      await sleep(50);
      controller.abort();
      await expect(pending).rejects.toMatchObject({ kind: 'aborted' });
      await sleep(50);
      expect(upstream.closedEarly).toBe(1);
      await expect(client.fetchText(request(), { signal: controller.signal })).rejects.toBeInstanceOf(
        UpstreamFailure,
      );
    });

    it('classifies a refused connection and a headers timeout', async () => {
      await upstream.stop();
      await expect(client.fetchText(request(), open())).rejects.toMatchObject({ kind: 'connect' });
      upstream = new LocalUpstream();
      base = await upstream.start();
      upstream.handler = () => undefined;
      await expect(client.fetchText(request(), { ...open(), headersTimeoutMs: 100 })).rejects.toMatchObject({
        kind: 'timeout',
      });
    });
  });

  describe('openStream', () => {
    it('yields the body as it arrives and ends', async () => {
      upstream.handler = (_req, res) => {
        sse(res);
        res.write('data: 1\n\n');
        setTimeout(() => res.write('data: 2\n\n'), 20);
        setTimeout(() => res.end('data: [DONE]\n\n'), 40);
      };
      const stream = await client.openStream(request(), open());
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream');
      const pieces: string[] = [];
      for await (const piece of stream.pieces()) pieces.push(piece);
      expect(pieces.join('')).toBe('data: 1\n\ndata: 2\n\ndata: [DONE]\n\n');
      expect(pieces.length).toBeGreaterThanOrEqual(2);
    });

    it('skips 1xx informational answers', async () => {
      upstream.handler = (_req, res) => {
        res.writeEarlyHints({ link: '</x>; rel=preload' });
        sse(res);
        res.end('data: 1\n\n');
      };
      const stream = await client.openStream(request(), open());
      expect(stream.status).toBe(200);
      expect(await stream.text()).toBe('data: 1\n\n');
    });

    it('in binary mode yields the raw bytes (not UTF-8 text), and still reads an error answer as text', async () => {
      const frame = Buffer.from([0x00, 0x00, 0x00, 0x10, 0xff, 0xfe, 0xc3, 0x28]);
      upstream.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
        res.write(frame.subarray(0, 5));
        setTimeout(() => res.end(frame.subarray(5)), 10);
      };
      const stream = await client.openStream(request(), { ...open(), binary: true });
      const pieces: Buffer[] = [];
      for await (const piece of stream.bytes()) pieces.push(Buffer.from(piece));
      expect(Buffer.concat(pieces)).toEqual(frame);

      upstream.handler = (_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end('{"message":"d\u00e9nied é"}');
      };
      const refused = await client.openStream(request(), { ...open(), binary: true });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toBe('{"message":"d\u00e9nied é"}');
    });

    it('reads an error answer whole with text()', async () => {
      upstream.handler = (_req, res) => {
        res.writeHead(429, { 'retry-after': '2' });
        res.end('{"error":{"message":"slow down"}}');
      };
      const stream = await client.openStream(request(), open());
      expect(stream.status).toBe(429);
      expect(await stream.text()).toBe('{"error":{"message":"slow down"}}');
    });

    it('a reader that stops after the last event leaves the connection in the pool', async () => {
      upstream.handler = (_req, res) => {
        sse(res);
        res.write('data: [DONE]\n\n');
        setTimeout(() => res.end(), 50); // the end comes a moment after the last event
      };
      for (let i = 0; i < 5; i++) {
        const stream = await client.openStream(request(), open());
        for await (const piece of stream.pieces()) if (piece.includes('[DONE]')) break;
        await sleep(100);
      }
      expect(upstream.connections).toBeLessThanOrEqual(2);
      expect(upstream.closedEarly).toBe(0);
    });

    it('a reader that stops on a body that never ends aborts it after the drain window', async () => {
      upstream.handler = (_req, res) => {
        sse(res);
        res.write('data: 1\n\n');
      };
      const stream = await client.openStream(request(), open());
      const iterator = stream.pieces();
      expect((await iterator.next()).value).toBe('data: 1\n\n');
      await iterator.return!();
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
      await sleep(500);
      expect(upstream.closedEarly).toBe(0);
      await sleep(2000);
      expect(upstream.closedEarly).toBe(1);
    });

    it('pauses a fast upstream while the reader is slow, and loses nothing', async () => {
      let blocked = false;
      const total = 1024 * 1024;
      upstream.handler = (_req, res) => {
        sse(res);
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += 16 * 1024;
            if (!res.write('y'.repeat(16 * 1024))) {
              blocked = true;
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
      };
      const big = new UpstreamHttpClient(loadAppConfig({}));
      try {
        const stream = await big.openStream(request(), open());
        await sleep(300); // nobody reads: the queue fills, the socket pauses, the server's writes block
        expect(blocked).toBe(true);
        let received = 0;
        for await (const piece of stream.pieces()) received += piece.length;
        expect(received).toBe(total);
      } finally {
        await big.onModuleDestroy();
      }
    });

    it('a signal that fires mid-stream fails the reader and closes the upstream request', async () => {
      upstream.handler = (_req, res) => {
        sse(res);
        res.write('data: 1\n\n');
      };
      const controller = new AbortController();
      const stream = await client.openStream(request(), { signal: controller.signal });
      const iterator = stream.pieces();
      await iterator.next();
      const waiting = iterator.next();
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ kind: 'aborted' });
      await sleep(50);
      expect(upstream.closedEarly).toBe(1);
    });

    it('a body that stalls past the idle timeout fails with a timeout', async () => {
      upstream.handler = (_req, res) => {
        sse(res);
        res.write('data: 1\n\n');
      };
      const stream = await client.openStream(request(), { ...open(), idleTimeoutMs: 100 });
      const pieces = stream.pieces();
      await pieces.next();
      await expect(pieces.next()).rejects.toMatchObject({ kind: 'timeout' });
    });

    it('a body over UPSTREAM_MAX_RESPONSE_BYTES fails with too_large', async () => {
      upstream.handler = (_req, res) => {
        sse(res);
        res.end('z'.repeat(5000));
      };
      const stream = await client.openStream(request(), open());
      await expect(stream.text()).rejects.toMatchObject({ kind: 'too_large' });
    });

    it('fails before any answer like fetchText does', async () => {
      await upstream.stop();
      await expect(client.openStream(request(), open())).rejects.toMatchObject({ kind: 'connect' });
      upstream = new LocalUpstream();
      base = await upstream.start();
    });
  });
});
