import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP relay a test controls, to fail a backing service (Redis) without touching the real one:
 * `stall()` holds every byte (a hung or very slow server; TCP keeps order, so nothing is lost),
 * `resume()` delivers what was held and relays again, `kill()` closes everything (a crashed server).
 */
export interface TcpProxy {
  port: number;
  stall(): void;
  resume(): void;
  kill(): Promise<void>;
  /** Drops every relayed connection and refuses new ones (a server that went down) until `restore()`. */
  cut(): void;
  restore(): void;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const held: { to: Socket; data: Buffer }[] = [];
  let stalled = false;
  let refusing = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const relay = (to: Socket) => (data: Buffer) => {
    if (stalled) held.push({ to, data });
    else to.write(data);
  };
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    track(client);
    const upstream = createConnection({ host: targetHost, port: targetPort });
    track(upstream);
    client.on('data', relay(upstream));
    upstream.on('data', relay(client));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      for (const { to, data } of held.splice(0)) if (!to.destroyed) to.write(data);
    },
    cut: () => {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      refusing = false;
    },
    kill: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
