import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { watch, FSWatcher } from 'chokidar';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';

export interface ConfigFileSnapshot {
  path: string;
  text: string;
  baseDir: string;
}

/** Reads gateway.yaml and tells subscribers when it changes on disk (editors' atomic saves included). */
@Injectable()
export class GatewayConfigSource implements OnModuleDestroy {
  private readonly logger = new Logger('GatewayConfig');
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  readonly path: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.path = resolve(config.GATEWAY_CONFIG);
  }

  async read(): Promise<ConfigFileSnapshot> {
    const text = await readFile(this.path, 'utf8');
    return { path: this.path, text, baseDir: dirname(this.path) };
  }

  /** Calls `onChange` (debounced) after each change on disk, when GATEWAY_CONFIG_WATCH is on. */
  watch(onChange: () => Promise<void>): void {
    if (!this.config.GATEWAY_CONFIG_WATCH || this.watcher) return;
    this.watcher = watch(this.path, { ignoreInitial: true, atomic: 50, awaitWriteFinish: false });
    const fire = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        onChange().catch((error: unknown) => this.logger.error(`config reload failed: ${String(error)}`));
      }, 50);
    };
    this.watcher.on('add', fire).on('change', fire);
    this.watcher.on('error', (error) => this.logger.warn(`config watcher error: ${String(error)}`));
  }

  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.debounce);
    await this.watcher?.close();
  }
}
