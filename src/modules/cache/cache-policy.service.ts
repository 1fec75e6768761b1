import { EntityManager } from 'typeorm';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { CachePolicy, CachePolicyInput, resolvePolicy } from 'src/modules/cache/cache-policy';
import { CachePolicyRepository } from 'src/modules/cache/cache-policy.repository';

/** How often each replica re-reads admin overrides written by another replica. */
const OVERRIDE_REFRESH_MS = 15_000;

export interface EndpointPolicyView {
  endpoint: string;
  /** What decides the policy: `override` (admin API), `yaml`, or `default` (caching off). */
  source: 'override' | 'yaml' | 'default';
  policy: CachePolicy;
}

/**
 * Effective cache policy per endpoint: an admin override layered over the YAML policy. Overrides live
 * in PostgreSQL and in an in-memory snapshot (the request path never reads the database); this replica
 * updates its snapshot on write, the others within OVERRIDE_REFRESH_MS.
 */
@Injectable()
export class CachePolicyService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('CachePolicy');
  private overrides = new Map<string, CachePolicyInput>();
  private timer: NodeJS.Timeout | undefined;
  private readonly disabled: CachePolicy;
  /** Bumped on every local write, so a refresh that read the table before that write is dropped. */
  private writes = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: CachePolicyRepository,
  ) {
    this.disabled = Object.freeze(resolvePolicy(config.CACHE_DEFAULT_TTL_SECONDS));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.overrides = await this.repository.list();
    this.timer = setInterval(() => void this.refresh(), OVERRIDE_REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  effective(endpoint: { name: string; cache: CachePolicyInput | undefined }): CachePolicy {
    // The common case on the hot path: no cache configured anywhere for this endpoint.
    if (endpoint.cache === undefined && this.overrides.size === 0) return this.disabled;
    return resolvePolicy(
      this.config.CACHE_DEFAULT_TTL_SECONDS,
      endpoint.cache,
      this.overrides.get(endpoint.name),
    );
  }

  view(endpoint: { name: string; cache: CachePolicyInput | undefined }): EndpointPolicyView {
    const source = this.overrides.has(endpoint.name) ? 'override' : endpoint.cache ? 'yaml' : 'default';
    return { endpoint: endpoint.name, source, policy: this.effective(endpoint) };
  }

  /** Stores an override (in the caller's transaction when it gives one) and applies it on this replica. */
  async setOverride(endpointName: string, policy: CachePolicyInput, m?: EntityManager): Promise<void> {
    await this.repository.upsert(endpointName, policy, m);
    this.writes++;
    this.overrides.set(endpointName, policy);
  }

  async removeOverride(endpointName: string, m?: EntityManager): Promise<boolean> {
    const removed = await this.repository.remove(endpointName, m);
    this.writes++;
    this.overrides.delete(endpointName);
    return removed;
  }

  private async refresh(): Promise<void> {
    const writes = this.writes;
    try {
      const overrides = await this.repository.list();
      if (writes === this.writes) this.overrides = overrides;
    } catch (error) {
      // Keep the last snapshot: a database hiccup must not change what is cached.
      this.logger.warn(
        `could not refresh cache policy overrides: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
