import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';

const CHANNEL = 'gatehouse_routing_changed';
const RECONNECT_MS = 1000;

/**
 * Tells every replica that routing config or a rollout changed, so each rebuilds its RouteTable. The
 * approach of AuthInvalidationService: PostgreSQL LISTEN/NOTIFY on a dedicated connection when
 * DATABASE_URL is set (NOTIFY sent inside the writing transaction, so it is delivered on commit and
 * only then); embedded PGlite is one process, where the writer refreshes itself.
 */
@Injectable()
export class RoutingChangeNotifier implements OnModuleDestroy {
  private readonly logger = new Logger('RoutingChanges');
  private readonly local = new EventEmitter();
  private client: Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private listening: Promise<void> | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Calls `onChange` for every committed change by any replica, and after a listener reconnect. */
  async subscribe(onChange: () => void): Promise<void> {
    this.local.on('changed', onChange);
    if (this.config.DATABASE_URL) {
      this.listening ??= this.listen(() => this.local.emit('changed'));
      await this.listening;
    }
  }

  /** Queues the notification in the writing transaction (delivered to other replicas at commit). */
  async publish(m: EntityManager): Promise<void> {
    if (this.config.DATABASE_URL) await m.query('SELECT pg_notify($1, $2)', [CHANNEL, String(Date.now())]);
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
        .then(() => onChange()) // changes made while disconnected were missed: resync
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
