import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Principal } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';
import { RedisClient } from 'src/infra/redis/redis.client';
import { CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import { RegistryService } from 'src/modules/registry/registry.service';

export type HealthStatus = 'ok' | 'degraded' | 'failing';

export interface ComponentHealth {
  status: HealthStatus;
  /** A failing critical component fails readiness (503); any other problem only degrades it. */
  critical: boolean;
  message?: string;
  [detail: string]: unknown;
}

export interface Readiness {
  status: HealthStatus;
  /** Operators only (METRICS_TOKEN, or a principal with `metrics.read`). */
  checkedAt?: string;
  components?: Record<string, ComponentHealth>;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Readiness: can this replica serve? The database is critical (config, keys and the ledger live there:
 * without it the replica fails readiness). Redis, the MLflow registry and upstream circuits only degrade
 * it: the gateway keeps serving (cache misses, last registry snapshot, other targets), and pulling every
 * replica out of the load balancer for a shared dependency would turn a partial outage into a total one.
 */
@Injectable()
export class HealthService {
  private readonly token: Buffer | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisClient,
    private readonly registry: RegistryService,
    private readonly circuits: CircuitStates,
    private readonly shutdown: ShutdownState,
  ) {
    this.token = config.METRICS_TOKEN ? digest(`Bearer ${config.METRICS_TOKEN}`) : undefined;
  }

  /** The body has the component detail only for operators (see isOperator). */
  async ready(operator: boolean): Promise<Readiness> {
    // A draining process leaves the load balancer first, before it stops accepting (graceful-shutdown.ts).
    if (this.shutdown.draining) {
      const draining: ComponentHealth = {
        status: 'failing',
        critical: true,
        message: 'shutting down (draining)',
      };
      return operator
        ? { status: 'failing', checkedAt: new Date().toISOString(), components: { lifecycle: draining } }
        : { status: 'failing' };
    }
    const components = await this.check();
    const values = Object.values(components);
    const status: HealthStatus = values.some((c) => c.critical && c.status === 'failing')
      ? 'failing'
      : values.some((c) => c.status !== 'ok')
        ? 'degraded'
        : 'ok';
    return operator ? { status, checkedAt: new Date().toISOString(), components } : { status };
  }

  async check(): Promise<Record<string, ComponentHealth>> {
    const [database, redis] = await Promise.all([this.database(), this.redisHealth()]);
    const components: Record<string, ComponentHealth> = { database };
    if (redis) components.redis = redis;
    const registry = this.registryHealth();
    if (registry) components.registry = registry;
    components.circuits = this.circuitHealth();
    return components;
  }

  private async database(): Promise<ComponentHealth> {
    const started = performance.now();
    const result = await this.db.pingCheck('database', { timeout: this.config.HEALTH_CHECK_TIMEOUT_MS });
    const up = result.database.status === 'up';
    const message: unknown = result.database.message;
    return {
      status: up ? 'ok' : 'failing',
      critical: true,
      latencyMs: Math.round(performance.now() - started),
      ...(up ? {} : { message: typeof message === 'string' ? message : 'the database does not answer' }),
    };
  }

  private async redisHealth(): Promise<ComponentHealth | undefined> {
    if (!this.redis.configured) return undefined;
    const client = this.redis.ready;
    if (!client) return { status: 'failing', critical: false, message: 'not connected (reconnecting)' };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), this.config.HEALTH_CHECK_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ok', critical: false, latencyMs: Math.round(performance.now() - started) };
    } catch {
      return { status: 'failing', critical: false, message: 'PING failed or timed out' };
    } finally {
      clearTimeout(timer);
    }
  }

  private registryHealth(): ComponentHealth | undefined {
    const health = this.registry.health();
    if (health.state === 'disabled') return undefined;
    const staleAfter =
      this.config.HEALTH_REGISTRY_STALE_SECONDS ??
      Math.ceil((3 * this.config.REGISTRY_SYNC_INTERVAL_MS) / 1000);
    const ageSeconds = health.lastSyncedAt
      ? Math.max(0, Math.round((Date.now() - Date.parse(health.lastSyncedAt)) / 1000))
      : null;
    const stale = ageSeconds === null || ageSeconds > staleAfter;
    const message =
      health.state === 'pending'
        ? 'no registry sync has succeeded yet'
        : health.state === 'degraded'
          ? 'the last sync failed; the last snapshot keeps serving'
          : stale
            ? `the last successful sync is older than ${staleAfter} s`
            : undefined;
    return {
      status: health.state === 'ok' && !stale ? 'ok' : 'degraded',
      critical: false,
      ...(message ? { message } : {}),
      state: health.state,
      lastSyncedAt: health.lastSyncedAt,
      ageSeconds,
      staleAfterSeconds: staleAfter,
      lastError: health.lastError,
      models: health.models,
    };
  }

  private circuitHealth(): ComponentHealth {
    const circuits = this.circuits.snapshot();
    const open = circuits.filter((c) => c.state === 'open');
    const halfOpen = circuits.filter((c) => c.state === 'half_open').map((c) => c.target);
    return {
      status: open.length > 0 ? 'degraded' : 'ok',
      critical: false,
      ...(open.length > 0 ? { message: `${open.length} of ${circuits.length} upstream circuits open` } : {}),
      total: circuits.length,
      open: open.map((c) => (c.reason ? { target: c.target, reason: c.reason } : { target: c.target })),
      halfOpen,
    };
  }

  /** METRICS_TOKEN, or a valid credential with `metrics.read`. A bad credential only hides the detail. */
  isOperator(authorization: string | undefined, principal: Principal | undefined): boolean {
    if (this.token && authorization !== undefined && timingSafeEqual(digest(authorization), this.token)) {
      return true;
    }
    return principal?.permissions.has('metrics.read') === true;
  }
}
