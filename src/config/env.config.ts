import { z } from 'zod';
import { routingEnv } from 'src/config/env/routing.env';
import { ledgerEnv } from 'src/config/env/ledger.env';
import { tracingEnv } from 'src/config/env/tracing.env';
import { limitsEnv } from 'src/config/env/limits.env';
import { metricsEnv } from 'src/config/env/metrics.env';
import { httpEnv } from 'src/config/env/http.env';
import { responsesEnv } from 'src/config/env/responses.env';
import { lifecycleEnv, workerProblem } from 'src/config/env/lifecycle.env';
import { batchEnv } from 'src/config/env/batch.env';
import { DEFAULT_UPSTREAM_ALLOWED_HOSTS, parseAllowedHosts } from 'src/infra/http/egress-policy';

/** Keys whose values are secrets: never logged, never echoed in errors. */
export const SECRET_ENV_KEYS = [
  'DATABASE_URL',
  'REDIS_URL',
  'GATEHOUSE_ADMIN_API_KEY',
  'GATEHOUSE_MASTER_KEY',
  'GATEHOUSE_MASTER_KEYS_PREVIOUS',
  'MLFLOW_TRACKING_TOKEN',
  'MLFLOW_TRACKING_PASSWORD',
  'MLFLOW_WEBHOOK_SECRET',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'METRICS_TOKEN',
] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const httpUrl = z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL');
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Identity and access (src/modules/auth). JWT is off unless an issuer or a JWKS URL is given. */
const authEnv = {
  /** Bootstrap admin key: at boot an admin principal with this key (stored hashed) is ensured. */
  GATEHOUSE_ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** AES-256-GCM key for provider secrets: 32 bytes, base64. */
  GATEHOUSE_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  GATEHOUSE_MASTER_KEY_VERSION: int(1, 1_000_000).default(1),
  /** Older master keys still needed to decrypt: `version:base64,version:base64`. */
  GATEHOUSE_MASTER_KEYS_PREVIOUS: z
    .string()
    .regex(/^\d+:[A-Za-z0-9+/=]+(,\d+:[A-Za-z0-9+/=]+)*$/, 'must be version:base64 pairs, comma-separated')
    .optional(),
  AUTH_OIDC_ISSUER: httpUrl.optional(),
  AUTH_JWKS_URL: httpUrl.optional(),
  /** Expected `iss`; defaults to AUTH_OIDC_ISSUER. */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_ALGORITHMS: csv
    .pipe(
      z
        .array(
          z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
        )
        .min(1),
    )
    .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  AUTH_JWT_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
  AUTH_JWKS_COOLDOWN_SECONDS: int(0, 3600).default(30),
  AUTH_JWKS_MAX_AGE_SECONDS: int(10, 86_400).default(600),
  AUTH_JWKS_TIMEOUT_MS: int(100, 60_000).default(5000),
  /** Claim naming the principal: `sub` or `client_id` (dotted paths allowed). */
  AUTH_JWT_PRINCIPAL_CLAIM: z.string().min(1).default('sub'),
  /** Claim holding role names (dotted path, e.g. `realm_access.roles` for Keycloak). */
  AUTH_JWT_ROLES_CLAIM: z.string().min(1).default('roles'),
  AUTH_JWT_TEAM_CLAIM: z.string().min(1).optional(),
  AUTH_JWT_AUTO_PROVISION: bool.default(false),
  AUTH_JWT_DEFAULT_TEAM: z.string().min(1).max(128).default('default'),
  AUTH_JWT_DEFAULT_ROLE: z.enum(['admin', 'operator', 'developer', 'viewer']).default('developer'),
  /** Failed authentications from one source address before it gets 429 for the rest of the window. */
  AUTH_FAILURE_LIMIT: int(1, 1_000_000).default(20),
  AUTH_FAILURE_WINDOW_SECONDS: int(1, 86_400).default(60),
  /**
   * The web console's OIDC sign-in (authorization code + PKCE against AUTH_OIDC_ISSUER): a public client
   * registered at the provider with redirect URI `<gateway>/ui/`. Not a secret: the browser holds it.
   */
  CONSOLE_OIDC_CLIENT_ID: z.string().min(1).max(256).optional(),
  /** Scopes the console asks for (space-separated); the access token must be one the gateway accepts. */
  CONSOLE_OIDC_SCOPES: z
    .string()
    .regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'must be space-separated scope tokens')
    .default('openid'),
};

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
  /**
   * shared_buffers of the embedded database (PGlite, without DATABASE_URL): its page cache in memory.
   * PostgreSQL's 128MB default was most of an idle embedded gateway's memory; pages beyond it are read
   * from DATA_DIR through the OS's file cache. Raise it for large knowledge bases.
   */
  EMBEDDED_SHARED_BUFFERS: z
    .string()
    .regex(/^[1-9]\d*(MB|GB)$/, 'must be a size in MB or GB, such as 16MB or 1GB')
    .default('16MB'),
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
  /**
   * Where upstream URLs not written by the host operator (admin-API endpoints, registry serving tags,
   * budget webhooks, external moderation) may go: host patterns (`*.example.com`, `host:port`) and
   * addresses or CIDR ranges; internal addresses only when an address entry covers them.
   */
  UPSTREAM_ALLOWED_HOSTS: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseAllowedHosts(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid' });
      }
    })
    .default(DEFAULT_UPSTREAM_ALLOWED_HOSTS),
  ...authEnv,
  ...routingEnv,
  /** Every Gatehouse key in Redis starts with this (several gateways or test runs can share one Redis). */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - only (1-64 characters)')
    .default('gatehouse:'),
  /** Overrides the database index of REDIS_URL. */
  REDIS_DB_INDEX: int(0, 15).optional(),
  /** Redis is an accelerator: a command slower than this fails (cache: counted as a miss). */
  REDIS_COMMAND_TIMEOUT_MS: int(1, 10_000).default(50),
  REDIS_CONNECT_TIMEOUT_MS: int(1, 60_000).default(1_000),
  /** Byte budget of the in-process response cache (used when REDIS_URL is unset). */
  CACHE_MEMORY_MAX_BYTES: int(1024, 16 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Responses (or whole streams) larger than this, serialised, are not cached. */
  CACHE_MAX_ENTRY_BYTES: int(1024, 512 * 1024 * 1024).default(4 * 1024 * 1024),
  /** Entries above this size are stored brotli-compressed. */
  CACHE_COMPRESS_MIN_BYTES: int(0, 512 * 1024 * 1024).default(1024),
  /** TTL of an endpoint whose cache policy gives none. */
  CACHE_DEFAULT_TTL_SECONDS: int(1, 30 * 86_400).default(3_600),
  /** How long identical concurrent requests wait for the first one's answer before calling upstream. */
  CACHE_SINGLE_FLIGHT_WAIT_MS: int(0, 600_000).default(30_000),
  /** How often team guardrail overrides are reloaded from the database (other replicas' edits); 0 = never. */
  MODERATION_POLICY_REFRESH_MS: int(0, 86_400_000).default(30_000),
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
  // Prompts and conversations (issue 9).
  PROMPTS_REFRESH_INTERVAL_MS: int(0, 86_400_000).default(30_000),
  CONVERSATION_RETENTION_SECONDS: int(1, 10 * 365 * 86_400).default(30 * 86_400),
  CONVERSATION_SWEEP_INTERVAL_MS: int(0, 86_400_000).default(3_600_000),
  CONVERSATION_MAX_HISTORY_TURNS: int(1, 10_000).default(200),
  ...ledgerEnv,
  ...tracingEnv,
  ...limitsEnv,
  ...metricsEnv,
  ...httpEnv,
  ...responsesEnv,
  ...lifecycleEnv,
  ...batchEnv,
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
  const result = envSchema
    .refine((c) => !(c.AUTH_OIDC_ISSUER || c.AUTH_JWKS_URL) || c.AUTH_JWT_AUDIENCE, {
      message: 'is required when AUTH_OIDC_ISSUER or AUTH_JWKS_URL is set',
      path: ['AUTH_JWT_AUDIENCE'],
    })
    .refine((c) => !c.CONSOLE_OIDC_CLIENT_ID || c.AUTH_OIDC_ISSUER, {
      message: 'needs AUTH_OIDC_ISSUER (the provider the console signs in with)',
      path: ['CONSOLE_OIDC_CLIENT_ID'],
    })
    .refine((c) => !c.AUTH_JWKS_URL || c.AUTH_JWT_ISSUER || c.AUTH_OIDC_ISSUER, {
      message: 'is required when AUTH_JWKS_URL is set without AUTH_OIDC_ISSUER',
      path: ['AUTH_JWT_ISSUER'],
    })
    .superRefine((c, ctx) => {
      const problem = workerProblem(c);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['GATEHOUSE_WORKERS'] });
    })
    .safeParse(input);
  if (!result.success) {
    throw new EnvValidationError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
