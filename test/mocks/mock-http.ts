import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** Shared plumbing for the provider mocks below: JSON body parsing, recording, clean shutdown. */
export interface RecordedCall {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export type Handler = (call: RecordedCall, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RunningMock {
  url: string;
  requests: RecordedCall[];
  close(): Promise<void>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/**
 * Starts a loopback HTTP server. A body that is not JSON gets `badJson` (each provider has its own
 * error envelope for it).
 */
export async function startMock(
  handler: Handler,
  badJson: (res: ServerResponse) => void,
): Promise<RunningMock> {
  const requests: RecordedCall[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        badJson(res);
        return;
      }
      const url = new URL(req.url ?? '/', 'http://mock');
      const call: RecordedCall = { method: req.method ?? '', path: url.pathname, headers: req.headers, body };
      requests.push(call);
      Promise.resolve(handler(call, req, res)).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { message: 'mock failure' });
        else res.destroy();
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
