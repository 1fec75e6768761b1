import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConversationsModule } from 'src/modules/conversations/conversations.module';
import { LIMITS_ENTITIES } from 'src/modules/limits/entities/limits.entities';
import {
  BudgetsAdminController,
  LimitsAdminController,
  PricesAdminController,
} from 'src/modules/limits/limits-admin.controller';
import { LimitsAdminService } from 'src/modules/limits/limits-admin.service';
import { LimitsBackend } from 'src/modules/limits/limits-backend.service';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { LimitsInvalidationService } from 'src/modules/limits/limits-invalidation.service';
import { LimitsRepository } from 'src/modules/limits/limits.repository';
import { LimitsService } from 'src/modules/limits/limits.service';
import { RoutingModule } from 'src/modules/routing/routing.module';

/** Rate limits, token quotas, budgets and the price catalog; LimitsService is used by every request path. */
@Global()
@Module({
  imports: [RoutingModule, ConversationsModule, TypeOrmModule.forFeature(LIMITS_ENTITIES)],
  controllers: [LimitsAdminController, BudgetsAdminController, PricesAdminController],
  providers: [
    LimitsRepository,
    LimitsInvalidationService,
    LimitsCatalogService,
    LimitsBackend,
    LimitsService,
    LimitsAdminService,
  ],
  exports: [LimitsService, LimitsCatalogService],
})
export class LimitsModule {}
