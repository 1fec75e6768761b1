import { Global, Module } from '@nestjs/common';
import { AuthModule } from 'src/modules/auth/auth.module';
import { CacheModule } from 'src/modules/cache/cache.module';
import { CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import { MetricsController } from 'src/modules/observability/metrics/metrics.controller';
import { MetricsHttpCounter } from 'src/modules/observability/metrics/metrics-http.counter';
import { MetricsServer } from 'src/modules/observability/metrics/metrics.server';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { RoutingModule } from 'src/modules/routing/routing.module';

/**
 * Prometheus metrics. Global so that circuit-breaker owners (routing) and readiness can reach
 * `CircuitStates` without importing this module.
 */
@Global()
@Module({
  imports: [AuthModule, CacheModule, RegistryModule, RoutingModule],
  controllers: [MetricsController],
  providers: [CircuitStates, MetricsService, MetricsHttpCounter, MetricsServer],
  exports: [CircuitStates, MetricsService, MetricsHttpCounter],
})
export class MetricsModule {}
