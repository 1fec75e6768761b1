import 'reflect-metadata';
import { EnvValidationError, loadAppConfig } from 'src/config/env.config';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { startTracing } from 'src/tracing';

/**
 * Start-up order matters: the environment is validated first, then OpenTelemetry starts (when
 * configured) and patches http, undici, pg and ioredis, and only then is the application loaded —
 * `src/bootstrap` (Nest, the database and Redis clients) is required after the SDK, never before.
 */
async function main(): Promise<void> {
  const config = loadAppConfig();
  await startTracing(config);
  const [{ createApp }, { Logger }] = await Promise.all([import('src/bootstrap'), import('@nestjs/common')]);
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  new Logger('Gatehouse').log(`Gatehouse listening on http://${config.HOST}:${port} (docs at /docs)`);
}

main().catch((error: unknown) => {
  if (error instanceof EnvValidationError || error instanceof GatewayConfigError) {
    process.stderr.write(`Gatehouse cannot start:\n${error.message}\n`);
  } else {
    process.stderr.write(
      `Gatehouse cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  process.exit(1);
});
