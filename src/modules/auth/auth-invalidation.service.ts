import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { PgChangeChannel } from 'src/infra/database/pg-change-channel';

/**
 * Tells every replica that identity data changed (a key revoked, a role changed, a grant added), so
 * each reloads its in-memory snapshot.
 */
@Injectable()
export class AuthInvalidationService extends PgChangeChannel {
  constructor(@Inject(APP_CONFIG) config: AppConfig, dataSource: DataSource) {
    super('gatehouse_auth_changed', config, dataSource);
  }
}
