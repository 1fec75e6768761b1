import { EventEmitter } from 'node:events';
import { Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from 'src/config/env.config';

const RECONNECT_MS = 1000;

/**
 * "Something changed, reload your snapshot" for every replica: PostgreSQL LISTEN/NOTIFY on a dedicated
 * connection when DATABASE_URL is set (re-established after a loss, with a resync); embedded PGlite is
 * single-process, so an in-process event suffices there. One subclass per channel.
 */
export abstract class PgChangeChannel implements OnModuleDestroy {
  private readonly logger: Logger;
  private readonly local = new EventEmitter();
  private client: Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  protected constructor(
    private readonly channel: string,
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {
    this.logger = new Logger(this.constructor.name);
  }

  private listening: Promise<void> | undefined;

  /**
   * Calls `onChange` on every change made by any replica, and after a lost listener connection is
   * re-established (changes may have been missed meanwhile). One connection serves every subscriber.
   */
  async subscribe(onChange: () => void): Promise<void> {
    this.local.on('changed', onChange);
    if (this.config.DATABASE_URL) {
      this.listening ??= this.listen(() => this.local.emit('changed'));
      await this.listening;
    }
  }

  /**
   * Keeps a snapshot in step with the database: listens first and loads second, so a change committed
   * while the first load reads is heard (loading first and listening after would miss one made in between,
   * until the next change: a budget created while a replica started stayed unknown to it). Then reloads
   * after every change; loads never overlap, and changes during a load cause exactly one more. The first
   * load's failure is thrown (the caller's start fails); later ones go to `onError`.
   */
  async follow(load: () => Promise<void>, onError: (error: unknown) => void): Promise<void> {
    let running: Promise<void> | undefined;
    let again = false;
    const reload = (): void => {
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          try {
            await load();
          } catch (error) {
            onError(error);
          }
        } while (again);
      })().finally(() => {
        running = undefined;
      });
    };
    await this.subscribe(reload);
    running = load().finally(() => {
      running = undefined;
      if (again) reload();
    });
    await running;
  }

  /** Called after a committed change. Other replicas hear it through NOTIFY; this one at once. */
  async publish(): Promise<void> {
    if (this.config.DATABASE_URL) {
      await this.dataSource.query('SELECT pg_notify($1, $2)', [this.channel, String(Date.now())]);
    } else {
      this.local.emit('changed');
    }
  }

  /**
   * Queues the notification in the writing transaction `m`: other replicas hear it at commit, and only
   * if it commits. The writer refreshes itself (no local event), so a change is applied once here.
   */
  async publishWithin(m: EntityManager): Promise<void> {
    if (this.config.DATABASE_URL)
      await m.query('SELECT pg_notify($1, $2)', [this.channel, String(Date.now())]);
  }

  private async listen(onChange: () => void): Promise<void> {
    const client = new Client({ connectionString: this.config.DATABASE_URL });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === this.channel) onChange();
    });
    client.on('error', (error) => {
      this.logger.warn(`listener connection lost (${error.message}); reconnecting`);
      this.scheduleReconnect(onChange);
    });
    await client.connect();
    await client.query(`LISTEN ${this.channel}`);
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
