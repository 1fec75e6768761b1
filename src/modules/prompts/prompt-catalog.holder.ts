import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { PROMPTS_CHANGED } from 'src/modules/prompts/prompt.events';
import { PromptCatalog } from 'src/modules/prompts/prompt-catalog';
import { PromptRepository } from 'src/modules/prompts/prompt.repository';
import { PromptTemplate } from 'src/modules/prompts/prompt.types';

/**
 * Holds the live PromptCatalog. Requests read `current` (no database access); writers swap it whole.
 * A change made through the admin API emits `prompts.changed`, which reloads this process at once;
 * other replicas notice it by polling a cheap fingerprint every PROMPTS_REFRESH_INTERVAL_MS (the same
 * event can later be relayed over Postgres LISTEN/NOTIFY or Redis pub/sub for instant propagation).
 */
@Injectable()
export class PromptCatalogHolder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Prompts');
  private timer: NodeJS.Timeout | undefined;
  private stamp = '';
  private started = 0;
  private applied = 0;
  current: PromptCatalog = PromptCatalog.empty();
  private local: PromptCatalog = PromptCatalog.empty();
  private external: ReadonlyMap<string, PromptTemplate> = new Map();

  constructor(
    private readonly repository: PromptRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    const every = this.config.PROMPTS_REFRESH_INTERVAL_MS;
    if (every > 0) {
      this.timer = setInterval(() => void this.poll(), every);
      this.timer.unref();
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  @OnEvent(PROMPTS_CHANGED)
  async reload(): Promise<void> {
    // Overlapping reloads (two admin writes at once): a load that started earlier never replaces a
    // snapshot from a load that started later.
    const generation = ++this.started;
    const stamp = await this.repository.stamp();
    const catalog = PromptCatalog.fromRows(await this.repository.loadAll());
    if (generation < this.applied) return;
    this.applied = generation;
    this.local = catalog;
    this.current = catalog.withTemplates(this.external);
    this.stamp = stamp;
  }

  /** Replaces the templates synced from MLflow's Prompt Registry (a new snapshot; local ones kept). */
  setExternal(templates: ReadonlyMap<string, PromptTemplate>): void {
    this.external = templates;
    this.current = this.local.withTemplates(templates);
  }

  private async poll(): Promise<void> {
    try {
      if ((await this.repository.stamp()) !== this.stamp) await this.reload();
    } catch (error) {
      // Keep serving the last snapshot; the next tick tries again.
      this.logger.warn(`prompt catalog refresh failed: ${error instanceof Error ? error.message : 'error'}`);
    }
  }
}
