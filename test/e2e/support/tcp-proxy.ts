import { createConnection, createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';

/**
 * A TCP relay a test controls, to fail a backing service (Redis) without touching the real one:
 * `blackhole()` keeps connections open but drops every byte (a hung server), `kill()` closes everything
 * (a crashed server).
 */
export interface TcpProxy {
  port: number;
  blackhole(): void;
  kill(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let dropping = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    const upstream = createConnection({ host: targetHost, port: targetPort });
    track(upstream);
    client.on('data', (data: Buffer) => {
      if (!dropping) upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (!dropping) client.write(data);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    blackhole: () => {
      dropping = true;
    },
    kill: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
