/**
 * Boots the real gateway (the same `createApp` main.ts uses) in its own process for the benchmark.
 * Configuration comes from the environment the runner passes (GATEWAY_CONFIG, DATA_DIR, LOG_LEVEL, …);
 * it listens on an ephemeral port on 127.0.0.1 and reports the port over IPC.
 */
import 'reflect-metadata';
import { AddressInfo } from 'node:net';
import { createApp } from 'src/bootstrap';
import { loadAppConfig } from 'src/config/env.config';
import { announceReady, exitWhenParentGoes } from './common';

async function main(): Promise<void> {
  const config = loadAppConfig(process.env);
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as AddressInfo;
  // Nest's own shutdown hooks (enableShutdownHooks in createApp) already handle SIGTERM/SIGINT.
  exitWhenParentGoes(() => app.close(), false);
  announceReady([address.port]);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gateway-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
