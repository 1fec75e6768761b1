import { AuditModule } from 'src/modules/audit/audit.module';
import { Global, Module } from '@nestjs/common';
import { getOptionsToken, getStorageToken } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
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
import { TokensModule } from 'src/modules/tokens/tokens.module';
import { LimitCounters } from 'src/modules/limits/limit-counters.service';
import { LimitsThrottlerStorage } from 'src/modules/limits/limits-throttler.storage';
// Registers this module's `gatehouse.limits` compiler with the route table when this file is loaded, i.e. before
// Nest creates any provider, so before RouteConfigService builds the first table (see route-extension.registry).
import 'src/modules/limits/limits.route-extension';

/** Rate limits, token quotas, budgets and the price catalog; LimitsService is used by every request path. */
@Global()
@Module({
  imports: [RoutingModule, TokensModule, AuditModule, TypeOrmModule.forFeature(LIMITS_ENTITIES)],
  controllers: [LimitsAdminController, BudgetsAdminController, PricesAdminController],
  providers: [
    LimitsRepository,
    LimitsInvalidationService,
    LimitsCatalogService,
    LimitsBackend,
    LimitCounters,
    LimitsService,
    LimitsAdminService,
    // @nestjs/throttler's guard (RateLimitGuard) on the gateway's counters; its rules come per request.
    LimitsThrottlerStorage,
    { provide: getStorageToken(), useExisting: LimitsThrottlerStorage },
    { provide: getOptionsToken(), useValue: { throttlers: [] } },
  ],
  exports: [
    LimitsService,
    LimitsCatalogService,
    LimitsThrottlerStorage,
    getStorageToken(),
    getOptionsToken(),
  ],
})
export class LimitsModule {}
