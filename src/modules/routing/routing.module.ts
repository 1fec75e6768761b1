import { CircuitReporter } from 'src/modules/routing/traffic/circuit-reporter';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GatewayConfigSource } from 'src/config/gateway-config.source';
import { ProvidersModule } from 'src/modules/providers/providers.module';
import { ConfigRevisionRepository } from 'src/modules/routing/config-revision.repository';
import { GatewayConfigRevisionEntity } from 'src/modules/routing/entities/gateway-config-revision.entity';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { RoutingService } from 'src/modules/routing/routing.service';
import { TrafficClock, TrafficState } from 'src/modules/routing/traffic/traffic-state.service';
import { InstanceHealthChecker } from 'src/modules/routing/traffic/instance-health.service';
import { AttemptChain } from 'src/modules/routing/traffic/attempt-chain';
import { SecretsModule } from 'src/modules/secrets/secrets.module';
import { AuditModule } from 'src/modules/audit/audit.module';
import { ConfigEntryRepository } from 'src/modules/routing/admin/config-entry.repository';
import { RoutingChangeNotifier } from 'src/modules/routing/admin/routing-change.notifier';
import { ConfigEntryGuard } from 'src/modules/routing/admin/config-entry.guard';
import { ConfigEntryChecks } from 'src/modules/routing/admin/config-entry-checks';
import { RoutingAdminService } from 'src/modules/routing/admin/routing-admin.service';
import {
  EndpointsAdminController,
  RoutesAdminController,
} from 'src/modules/routing/admin/routing-admin.controller';

@Module({
  imports: [
    ProvidersModule,
    SecretsModule,
    AuditModule,
    TypeOrmModule.forFeature([GatewayConfigRevisionEntity]),
  ],
  controllers: [EndpointsAdminController, RoutesAdminController],
  providers: [
    GatewayConfigSource,
    ConfigRevisionRepository,
    RouteTableHolder,
    RouteConfigService,
    RoutingService,
    ConfigEntryRepository,
    RoutingChangeNotifier,
    RoutingAdminService,
    ConfigEntryGuard,
    ConfigEntryChecks,
    TrafficClock,
    TrafficState,
    AttemptChain,
    InstanceHealthChecker,
    CircuitReporter,
  ],
  exports: [
    RoutingService,
    RouteConfigService,
    RouteTableHolder,
    RoutingAdminService,
    RoutingChangeNotifier,
    ConfigEntryChecks,
    TrafficState,
    TrafficClock,
    AttemptChain,
  ],
})
export class RoutingModule {}
