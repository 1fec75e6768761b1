import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { RouteTable } from 'src/modules/routing/route-table';
import { MlflowRegistryClient } from 'src/modules/registry/mlflow-registry.client';
import {
  Candidate,
  probesOf,
  ResolveOptions,
  resolveCandidates,
  toEntries,
} from 'src/modules/registry/model-endpoint.resolver';
import { RegistryEvents } from 'src/modules/registry/registry.events';
import { RegistryFetchError } from 'src/modules/registry/registry.exception';
import { RegistrySnapshotRepository } from 'src/modules/registry/registry-snapshot.repository';
import {
  RegistryModel,
  RegistrySnapshot,
  SyncStatus,
  SyncTrigger,
} from 'src/modules/registry/registry.types';
import { ServingHealthMonitor } from 'src/modules/registry/serving-health.monitor';

export interface RegistryHealth {
  state: 'ok' | 'degraded' | 'disabled' | 'pending';
  lastSyncedAt: string | null;
  lastAttemptAt: string | null;
  lastError: string | null;
  models: number;
}

/**
 * Keeps the registry snapshot (MLflow → Postgres → memory) and the predict endpoints it implies.
 * Sync runs on an interval, on demand and on webhooks; one replica at a time fetches (advisory
 * lock), the others pick the stored snapshot up. Every change re-resolves the predict endpoints
 * and swaps them into the route table; the request path never reads the database.
 */
@Injectable()
export class RegistryService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Registry');
  private snapshot: RegistrySnapshot | undefined;
  private lastAttemptAt: string | null = null;
  private lastError: string | null = null;
  private running: Promise<SyncStatus> | undefined;
  private queued: Promise<SyncStatus> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthTick: number | undefined;
  private stopped = false;
  private readonly allowedHosts: ReadonlySet<string> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly client: MlflowRegistryClient,
    private readonly repository: RegistrySnapshotRepository,
    private readonly holder: RouteTableHolder,
    private readonly monitor: ServingHealthMonitor,
    private readonly events: RegistryEvents,
  ) {
    const hosts = config.REGISTRY_SERVING_HOSTS?.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    this.allowedHosts = hosts && hosts.length > 0 ? new Set(hosts) : undefined;
  }

  onModuleInit(): void {
    this.holder.setModelResolver((table) => this.resolve(table));
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      this.snapshot = await this.repository.load();
    } catch (error) {
      this.logger.warn(`could not load the stored registry snapshot: ${describe(error)}`);
    }
    if (this.snapshot) await this.rebuild();
    if (this.client.configured) {
      // The first sync must not hold up start-up when MLflow is slow or down: the stored snapshot serves.
      void this.sync('boot');
      this.scheduleSync();
    }
    this.scheduleHealth();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.syncTimer);
    clearTimeout(this.healthTimer);
  }

  current(): RegistrySnapshot | undefined {
    return this.snapshot;
  }

  model(name: string): RegistryModel | undefined {
    return this.snapshot?.models.find((m) => m.name === name);
  }

  health(): RegistryHealth {
    const state = !this.client.configured
      ? 'disabled'
      : this.lastError
        ? 'degraded'
        : this.snapshot
          ? 'ok'
          : 'pending';
    return {
      state,
      lastSyncedAt: this.snapshot?.syncedAt ?? null,
      lastAttemptAt: this.lastAttemptAt,
      lastError: this.lastError,
      models: this.snapshot?.models.length ?? 0,
    };
  }

  /** Runs a sync now; a sync already running finishes first and one more follows (coalesced). */
  sync(trigger: SyncTrigger): Promise<SyncStatus> {
    if (this.queued) return this.queued;
    const before = this.running;
    const next = (before ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        if (this.queued === next) this.queued = undefined;
        return this.runSync(trigger);
      });
    if (before) this.queued = next;
    this.running = next;
    void next.finally(() => {
      if (this.running === next) this.running = undefined;
    });
    return next;
  }

  private async runSync(trigger: SyncTrigger): Promise<SyncStatus> {
    const started = Date.now();
    const base = { trigger, durationMs: 0 };
    if (!this.client.configured) {
      return {
        ...base,
        status: 'disabled',
        models: 0,
        versions: 0,
        hash: null,
        syncedAt: null,
        reason: 'MLFLOW_TRACKING_URI is not set.',
      };
    }
    this.lastAttemptAt = new Date().toISOString();
    try {
      const result = await this.repository.withSyncLock(async () => {
        const models = await this.client.fetchAll();
        return { models, hash: hashOf(models), syncedAt: new Date().toISOString() };
      });
      if (!result.locked) {
        // Another replica is syncing: take what it stored last.
        const stored = await this.repository.load();
        const changed = stored !== undefined && stored.hash !== this.snapshot?.hash;
        if (changed) await this.apply(stored);
        return this.status(trigger, 'skipped', started, 'another replica holds the sync lock');
      }
      this.lastError = null;
      const snapshot = result.snapshot as RegistrySnapshot;
      const changed = snapshot.hash !== this.snapshot?.hash;
      if (changed) await this.apply(snapshot);
      else if (this.snapshot) this.snapshot = { ...this.snapshot, syncedAt: snapshot.syncedAt };
      return this.status(trigger, changed ? 'synced' : 'unchanged', started);
    } catch (error) {
      this.lastError = error instanceof RegistryFetchError ? error.message : 'the registry sync failed';
      this.logger.warn(`registry sync (${trigger}) failed: ${describe(error)}; keeping the last snapshot`);
      return this.status(trigger, 'failed', started, this.lastError);
    }
  }

  private status(
    trigger: SyncTrigger,
    status: SyncStatus['status'],
    started: number,
    reason?: string,
  ): SyncStatus {
    const models = this.snapshot?.models ?? [];
    return {
      status,
      trigger,
      models: models.length,
      versions: models.reduce((n, m) => n + m.versions.length, 0),
      hash: this.snapshot?.hash ?? null,
      syncedAt: this.snapshot?.syncedAt ?? null,
      ...(reason ? { reason } : {}),
      durationMs: Date.now() - started,
    };
  }

  private async apply(snapshot: RegistrySnapshot): Promise<void> {
    const previous = this.snapshot;
    this.snapshot = snapshot;
    await this.rebuild();
    this.logger.log(
      `registry snapshot ${snapshot.hash.slice(0, 12)} applied (${snapshot.models.length} models)`,
    );
    this.events.emitChanged({ previousHash: previous?.hash ?? null, hash: snapshot.hash });
  }

  /**
   * Re-resolves the predict endpoints and swaps them in. Scoring servers not seen before are pinged
   * first, so a version whose server is down never receives traffic after an alias move.
   */
  private async rebuild(): Promise<void> {
    const candidates = this.candidates(this.holder.current);
    const fresh = probesOf(candidates).filter((probe) => !this.monitor.known(probe.url));
    if (fresh.length > 0) await this.monitor.probe(fresh);
    this.holder.recompose();
  }

  private resolve(table: RouteTable): ReturnType<typeof toEntries> {
    // A config that asks for faster health checks gets them from now on, not after the current wait.
    if (this.healthTick !== undefined && this.healthTickOf(table) < this.healthTick)
      this.scheduleHealth(table);
    return toEntries(this.candidates(table), (url) => this.monitor.state(url));
  }

  private candidates(table: RouteTable): Candidate[] {
    const reserved = new Set(
      [...table.endpoints, ...table.routes, ...table.predictRouteDeclarations].map((e) => e.name),
    );
    const options: ResolveOptions = {
      snapshot: this.snapshot,
      reservedNames: reserved,
      servingUrlTag: this.config.REGISTRY_SERVING_URL_TAG,
      servingUrlTemplate: this.config.REGISTRY_SERVING_URL_TEMPLATE,
      exposeTag: this.config.REGISTRY_EXPOSE_TAG,
      exposeAlias: this.config.REGISTRY_EXPOSE_ALIAS,
      defaultTimeoutMs: this.config.SCORING_TIMEOUT_MS,
      allowedHosts: this.allowedHosts,
      ...(table.cacheDefaults === undefined ? {} : { cacheDefaults: table.cacheDefaults }),
    };
    return resolveCandidates(table.modelDeclarations, options);
  }

  private scheduleSync(): void {
    if (this.stopped) return;
    this.syncTimer = setTimeout(() => {
      void this.sync('interval').finally(() => this.scheduleSync());
    }, this.config.REGISTRY_SYNC_INTERVAL_MS);
    this.syncTimer.unref();
  }

  /**
   * Health passes run every REGISTRY_HEALTH_INTERVAL_MS, or at the shortest `health_check.interval_ms`
   * a predict endpoint declares; each pass probes only the servers whose own interval is due.
   */
  private scheduleHealth(table: RouteTable = this.holder.current): void {
    if (this.stopped) return;
    this.healthTick = this.healthTickOf(table);
    clearTimeout(this.healthTimer);
    this.healthTimer = setTimeout(() => {
      void this.checkHealth().finally(() => this.scheduleHealth());
    }, this.healthTick);
    this.healthTimer.unref();
  }

  private healthTickOf(table: RouteTable): number {
    const intervals = table.modelDeclarations.flatMap((d) => d.balancing?.healthCheck?.intervalMs ?? []);
    return Math.min(this.config.REGISTRY_HEALTH_INTERVAL_MS, ...intervals);
  }

  private async checkHealth(): Promise<void> {
    try {
      const probes = probesOf(this.candidates(this.holder.current));
      this.monitor.retain(probes.map((p) => p.url));
      const due = this.monitor.due(probes, this.config.REGISTRY_HEALTH_INTERVAL_MS);
      if (due.length === 0) return;
      if (await this.monitor.probe(due)) this.holder.recompose();
    } catch (error) {
      this.logger.warn(`serving health check failed: ${describe(error)}`);
    }
  }
}

function hashOf(models: RegistryModel[]): string {
  return createHash('sha256').update(JSON.stringify(models)).digest('hex');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
