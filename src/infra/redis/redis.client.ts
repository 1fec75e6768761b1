import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';

/**
 * The shared Redis connection (cache, limits, budgets), present only when REDIS_URL is set. Redis is
 * treated as an accelerator that may vanish: commands time out after REDIS_COMMAND_TIMEOUT_MS, nothing is
 * queued while disconnected (a dead Redis fails fast instead of piling up requests), and the client
 * keeps reconnecting in the background. Callers decide what a failure means for them.
 */
@Injectable()
export class RedisClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly client: Redis | undefined;
  private lastError = '';
  /** Prepended to every key Gatehouse writes (REDIS_KEY_PREFIX). */
  readonly prefix: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.REDIS_KEY_PREFIX;
    if (!config.REDIS_URL) return;
    this.client = new Redis(config.REDIS_URL, {
      ...(config.REDIS_DB_INDEX !== undefined ? { db: config.REDIS_DB_INDEX } : {}),
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      // At shutdown, a socket to a hung Redis is destroyed after this long instead of the default 2 s.
      disconnectTimeout: 250,
      // Keep trying, at most once a second, for as long as the process lives.
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
    });
    this.client.on('error', (error: Error) => {
      // One line per distinct failure, not one per reconnect attempt; never the URL (it may hold a password).
      if (error.message !== this.lastError) this.logger.warn(`redis unavailable: ${error.message}`);
      this.lastError = error.message;
    });
    this.client.on('ready', () => {
      if (this.lastError) this.logger.log('redis connection restored');
      this.lastError = '';
    });
  }

  /** Whether Redis is configured at all (REDIS_URL set). */
  get configured(): boolean {
    return this.client !== undefined;
  }

  /** The connection when it is ready for commands, else undefined (callers treat that as "Redis down"). */
  get ready(): Redis | undefined {
    return this.client?.status === 'ready' ? this.client : undefined;
  }

  async onModuleInit(): Promise<void> {
    if (!this.client) return;
    // Start-up does not depend on Redis: a failed first connect is logged and retried in the background.
    await this.client.connect().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
