import { z } from 'zod';

/** Keys whose values are secrets: never logged, never echoed in errors. */
export const SECRET_ENV_KEYS = [
  'DATABASE_URL',
  'REDIS_URL',
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_PASSWORD',
  'MLFLOW_WEBHOOK_SECRET',
] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8080),
  GATEWAY_CONFIG: z.string().min(1).default('./gateway.yaml'),
  GATEWAY_CONFIG_WATCH: bool.default(true),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug']).default('info'),
  BODY_LIMIT_BYTES: int(1024, 512 * 1024 * 1024).default(2 * 1024 * 1024),
  UPSTREAM_CONNECT_TIMEOUT_MS: int(1, 600_000).default(10_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: int(1, 3_600_000).default(300_000),
  UPSTREAM_IDLE_TIMEOUT_MS: int(1, 3_600_000).default(300_000),
  UPSTREAM_MAX_RESPONSE_BYTES: int(1024, 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  UPSTREAM_CONNECTIONS: int(1, 100_000).default(256),
  // MLflow Model Registry sync (src/modules/registry); sync is off without MLFLOW_TRACKING_URI.
  MLFLOW_TRACKING_URI: z
    .string()
    .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
    .optional(),
  MLFLOW_TRACKING_TOKEN: z.string().min(1).optional(),
  MLFLOW_TRACKING_USERNAME: z.string().min(1).optional(),
  MLFLOW_TRACKING_PASSWORD: z.string().min(1).optional(),
  MLFLOW_WEBHOOK_SECRET: z.string().min(1).optional(),
  REGISTRY_SYNC_INTERVAL_MS: int(100, 86_400_000).default(10_000),
  REGISTRY_REQUEST_TIMEOUT_MS: int(100, 600_000).default(10_000),
  REGISTRY_HEALTH_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  REGISTRY_SERVING_URL_TAG: z.string().min(1).default('gatehouse.serving_url'),
  REGISTRY_SERVING_URL_TEMPLATE: z.string().min(1).optional(),
  // Comma-separated hosts (host or host:port) scoring servers may live on; unset = any host.
  REGISTRY_SERVING_HOSTS: z.string().min(1).optional(),
  REGISTRY_EXPOSE_TAG: z.string().min(1).default('gatehouse.expose'),
  REGISTRY_EXPOSE_ALIAS: z.string().min(1).default('champion'),
  SCORING_TIMEOUT_MS: int(1, 3_600_000).default(60_000),
});

export type AppConfig = z.infer<typeof envSchema>;

export class EnvValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * The one place that reads process.env. Every bad key is reported at once; values of secret
 * keys are never included in the message.
 */
export function loadAppConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = envSchema.safeParse(input);
  if (!result.success) {
    throw new EnvValidationError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
