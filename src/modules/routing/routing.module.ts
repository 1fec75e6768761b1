import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GatewayConfigSource } from 'src/config/gateway-config.source';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { ProvidersModule } from 'src/modules/providers/providers.module';
import { ConfigRevisionRepository } from 'src/modules/routing/config-revision.repository';
import { GatewayConfigRevisionEntity } from 'src/modules/routing/entities/gateway-config-revision.entity';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { RoutingService } from 'src/modules/routing/routing.service';
import { TrafficClock, TrafficState } from 'src/modules/routing/traffic/traffic-state.service';
import { InstanceHealthChecker } from 'src/modules/routing/traffic/instance-health.service';
import { SecretsModule } from 'src/modules/secrets/secrets.module';

@Module({
  imports: [ProvidersModule, SecretsModule, TypeOrmModule.forFeature([GatewayConfigRevisionEntity])],
  providers: [
    GatewayConfigSource,
    UpstreamHttpClient,
    ConfigRevisionRepository,
    RouteTableHolder,
    RouteConfigService,
    RoutingService,
    TrafficClock,
    TrafficState,
    InstanceHealthChecker,
  ],
  exports: [RoutingService, RouteConfigService, RouteTableHolder, TrafficState, TrafficClock],
})
export class RoutingModule {}
