import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';

const CHANNEL = 'gatehouse_limits_changed';
const RECONNECT_MS = 1000;

/**
 * Tells every replica that limits, budgets or prices changed, so each reloads its snapshot (the pattern of
 * AuthInvalidationService): PostgreSQL LISTEN/NOTIFY with DATABASE_URL, an in-process event on PGlite.
 */
@Injectable()
export class LimitsInvalidationService implements OnModuleDestroy {
  private readonly logger = new Logger('LimitsInvalidation');
  private readonly local = new EventEmitter();
  private client: Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private listening: Promise<void> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {}

  async subscribe(onChange: () => void): Promise<void> {
    this.local.on('changed', onChange);
    if (this.config.DATABASE_URL) {
      this.listening ??= this.listen(() => this.local.emit('changed'));
      await this.listening;
    }
  }

  async publish(): Promise<void> {
    if (this.config.DATABASE_URL) {
      await this.dataSource.query('SELECT pg_notify($1, $2)', [CHANNEL, String(Date.now())]);
    } else {
      this.local.emit('changed');
    }
  }

  private async listen(onChange: () => void): Promise<void> {
    const client = new Client({ connectionString: this.config.DATABASE_URL });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === CHANNEL) onChange();
    });
    client.on('error', (error) => {
      this.logger.warn(`listener connection lost (${error.message}); reconnecting`);
      this.scheduleReconnect(onChange);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
  }

  private scheduleReconnect(onChange: () => void): void {
    if (this.closed || this.reconnectTimer) return;
    void this.client?.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen(onChange)
        .then(() => onChange())
        .catch(() => this.scheduleReconnect(onChange));
    }, RECONNECT_MS);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.local.removeAllListeners();
    await this.client?.end().catch(() => undefined);
  }
}
