import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { PgChangeChannel } from 'src/infra/database/pg-change-channel';

/**
 * Tells every replica that routing config or a rollout changed, so each rebuilds its RouteTable: the
 * change channel auth and limits use, with the notification sent inside the writing transaction
 * (delivered on commit and only then); the writer refreshes itself.
 */
@Injectable()
export class RoutingChangeNotifier extends PgChangeChannel {
  constructor(@Inject(APP_CONFIG) config: AppConfig, dataSource: DataSource) {
    super('gatehouse_routing_changed', config, dataSource);
  }

  /** Queues the notification in the writing transaction (delivered to other replicas at commit). */
  override publish(m?: EntityManager): Promise<void> {
    return m ? this.publishWithin(m) : super.publish();
  }
}
