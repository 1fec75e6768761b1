import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { PgChangeChannel } from 'src/infra/database/pg-change-channel';

/** Tells every replica that limits, budgets or prices changed, so each reloads its snapshot. */
@Injectable()
export class LimitsInvalidationService extends PgChangeChannel {
  constructor(@Inject(APP_CONFIG) config: AppConfig, dataSource: DataSource) {
    super('gatehouse_limits_changed', config, dataSource);
  }
}
