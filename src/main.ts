import 'reflect-metadata';
import cluster from 'node:cluster';
import { EnvValidationError, loadAppConfig } from 'src/config/env.config';
import { workerCount } from 'src/config/env/lifecycle.env';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { startTracing } from 'src/tracing';

/**
 * Start-up order matters: the environment is validated first, then OpenTelemetry starts (when
 * configured) and patches http, undici, pg and ioredis, and only then is the application loaded —
 * `src/bootstrap` (Nest, the database and Redis clients) is required after the SDK, never before.
 * With GATEHOUSE_WORKERS > 1 this process becomes the cluster primary (no Nest, no tracing, no
 * database) and each forked worker runs the rest of this function.
 */
async function main(): Promise<void> {
  const config = loadAppConfig();
  const workers = workerCount(config);
  if (workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('src/infra/cluster/cluster-primary');
    runPrimary(config, workers);
    return;
  }
  await startTracing(config);
  // The embedded database starts on its thread while the application's modules load (each ~1 s).
  const { prestartEmbeddedDatabase } = await import('src/infra/database/data-source.factory');
  prestartEmbeddedDatabase(config);
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
