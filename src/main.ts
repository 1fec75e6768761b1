import 'reflect-metadata';
import { createApp } from 'src/bootstrap';
import { EnvValidationError, loadAppConfig } from 'src/config/env.config';
import { GatewayConfigError } from 'src/config/gateway-config.types';

async function main(): Promise<void> {
  const config = loadAppConfig();
  const app = await createApp(config);
  await app.listen({ port: config.PORT, host: config.HOST });
  process.stdout.write(`Gatehouse listening on http://${config.HOST}:${config.PORT} (docs at /docs)\n`);
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
