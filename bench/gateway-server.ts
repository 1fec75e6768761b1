/**
 * Boots the real gateway (the same `createApp` main.ts uses) in its own process for the benchmark.
 * Configuration comes from the environment the runner passes (GATEWAY_CONFIG, DATA_DIR, LOG_LEVEL, …);
 * it listens on an ephemeral port on 127.0.0.1 and reports the port over IPC.
 */
import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { createApp } from 'src/bootstrap';
import { loadAppConfig } from 'src/config/env.config';
import { announceReady, exitWhenParentGoes, isSampleRequest, MemorySample } from './common';

async function main(): Promise<void> {
  const config = loadAppConfig(process.env);
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as AddressInfo;
  // Nest's own shutdown hooks (enableShutdownHooks in createApp) already handle SIGTERM/SIGINT.
  exitWhenParentGoes(() => app.close(), false);
  // `npm run soak` samples memory and descriptors over IPC.
  process.on('message', (message: unknown) => {
    if (!isSampleRequest(message) || !process.send) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const usage = process.memoryUsage();
    const sample: MemorySample = {
      type: 'memory',
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      fds: readdirSync('/proc/self/fd').length,
      collected: gc !== undefined,
    };
    process.send(sample);
  });
  announceReady([address.port]);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gateway-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
