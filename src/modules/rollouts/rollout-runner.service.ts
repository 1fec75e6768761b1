import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { RoutingChangeNotifier } from 'src/modules/routing/admin/routing-change.notifier';
import { RolloutStatsCollector } from 'src/modules/rollouts/rollout-stats.collector';
import { RolloutsService } from 'src/modules/rollouts/rollouts.service';

/**
 * The timers of progressive rollouts on each replica: flush this replica's counts, and (on whichever
 * replica takes the leader lock for that pass) judge the running rollouts. The live set is re-read on
 * every routing NOTIFY and at the reconcile interval. Idle (no live rollout): no database traffic
 * beyond the reconcile read.
 */
@Injectable()
export class RolloutRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Rollouts');
  private readonly timers: NodeJS.Timeout[] = [];
  private ticking = false;

  constructor(
    private readonly rollouts: RolloutsService,
    private readonly collector: RolloutStatsCollector,
    private readonly notifier: RoutingChangeNotifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.notifier.follow(
      () => this.rollouts.reload(),
      (error) =>
        this.logger.warn(
          `could not read live rollouts: ${error instanceof Error ? error.message : String(error)}`,
        ),
    );
    this.every(this.config.ROUTING_RECONCILE_INTERVAL_MS, () => this.reload());
    this.every(this.config.ROLLOUT_STATS_FLUSH_MS, () => this.collector.flush());
    this.every(this.config.ROLLOUT_TICK_MS, () => this.tick());
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** One pass: flush, then judge if this replica wins the leader lock. */
  async tick(): Promise<void> {
    if (this.ticking || this.collector.watching === 0) return;
    this.ticking = true;
    try {
      await this.collector.flush();
      await this.rollouts.evaluate();
    } catch (error) {
      this.logger.warn(`rollout pass failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.ticking = false;
    }
  }

  private async reload(): Promise<void> {
    try {
      await this.rollouts.reload();
    } catch (error) {
      this.logger.warn(
        `could not read live rollouts: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private every(ms: number, work: () => Promise<void>): void {
    const timer = setInterval(() => void work(), ms);
    timer.unref();
    this.timers.push(timer);
  }
}
