import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { CounterStore } from 'src/modules/limits/counter.store';
import { MemoryCounterStore } from 'src/modules/limits/memory-counter.store';
import {
  defineLimitCommands,
  RedisCounterStore,
  STALE_AFTER_MS,
} from 'src/modules/limits/redis-counter.store';

/**
 * Where counters live. With REDIS_URL: in Redis, through atomic Lua scripts on a connection of our own
 * (commands time out after LIMITS_REDIS_TIMEOUT_MS ≤ 200 ms; nothing queues while disconnected). Without
 * it: in this process. `fallback` is the per-replica store used while Redis is unreachable.
 */
@Injectable()
export class LimitsBackend implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Limits');
  private readonly client: Redis | undefined;
  readonly primary: CounterStore;
  readonly fallback: MemoryCounterStore;
  /** Redis is skipped until this time after a failure (LIMITS_REDIS_RETRY_MS), so a dead Redis costs one timeout. */
  private downUntil = 0;
  private lastError = '';

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.fallback = new MemoryCounterStore();
    if (!config.REDIS_URL) {
      this.primary = this.fallback;
      return;
    }
    const client = new Redis(config.REDIS_URL, {
      ...(config.REDIS_DB_INDEX !== undefined ? { db: config.REDIS_DB_INDEX } : {}),
      lazyConnect: true,
      enableOfflineQueue: false,
      // The store times each call out after LIMITS_REDIS_TIMEOUT_MS; this only reaps commands of a hung socket.
      // It outlasts the reserve script's stale-after time, so a reservation that did run (before that
      // time) still gets its reply read, and undone (see RedisCounterStore.reserve).
      commandTimeout: STALE_AFTER_MS + 2_000,
      connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      disconnectTimeout: 250,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
    });
    defineLimitCommands(client);
    client.on('error', (error: Error) => {
      if (error.message !== this.lastError) this.logger.warn(`limits redis unavailable: ${error.message}`);
      this.lastError = error.message;
    });
    client.on('ready', () => {
      if (this.lastError) this.logger.log('limits redis connection restored');
      this.lastError = '';
    });
    this.client = client;
    this.primary = new RedisCounterStore(
      () => (client.status === 'ready' ? (client as never) : undefined),
      `${config.REDIS_KEY_PREFIX}limits:`,
      Date.now,
      config.LIMITS_REDIS_TIMEOUT_MS,
    );
  }

  get distributed(): boolean {
    return this.client !== undefined;
  }

  /** False while Redis is configured but known to be failing (the caller uses the fallback at once). */
  get available(): boolean {
    if (!this.client) return true;
    return this.client.status === 'ready' && Date.now() >= this.downUntil;
  }

  markFailed(error: unknown): void {
    this.downUntil = Date.now() + this.config.LIMITS_REDIS_RETRY_MS;
    const message = error instanceof Error ? error.message : String(error);
    if (message !== this.lastError)
      this.logger.warn(`limits redis call failed (${message}); using per-replica caps`);
    this.lastError = message;
  }

  async onModuleInit(): Promise<void> {
    await this.client?.connect().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
