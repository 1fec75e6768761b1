import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { ConfigModule } from 'src/config/config.module';
import { LifecycleModule } from 'src/infra/lifecycle/lifecycle.module';
import { AppConfig } from 'src/config/env.config';
import { DatabaseModule } from 'src/infra/database/database.module';
import { HttpClientModule } from 'src/infra/http/http-client.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { AuthenticationGuard } from 'src/modules/auth/authentication.guard';
import { PermissionGuard } from 'src/modules/auth/permission.guard';
import { RedisModule } from 'src/infra/redis/redis.module';
import { HealthModule } from 'src/modules/health/health.module';
import { InferenceModule } from 'src/modules/inference/inference.module';
import { ModerationModule } from 'src/modules/moderation/moderation.module';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { PromptsModule } from 'src/modules/prompts/prompts.module';
import { ObservabilityCoreModule } from 'src/common/observability/observability-core.module';
import { RolloutsModule } from 'src/modules/rollouts/rollouts.module';
import { BillingModule } from 'src/modules/billing/billing.module';
import { TracingModule } from 'src/modules/observability/tracing/tracing.module';
import { LoggingModule } from 'src/modules/observability/logging/logging.module';
import { LimitsModule } from 'src/modules/limits/limits.module';
import { MetricsModule } from 'src/modules/observability/metrics/metrics.module';
import { ProductsModule } from 'src/modules/products/products.module';
import { KnowledgeModule } from 'src/modules/knowledge/knowledge.module';
import { BatchModule } from 'src/modules/batch/batch.module';
import { ConsoleModule } from 'src/modules/console/console.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LifecycleModule,
        EventEmitterModule.forRoot(),
        ObservabilityCoreModule,
        DatabaseModule,
        HttpClientModule,
        RedisModule,
        AuthModule,
        // Its denial recorder is injected into the exception filter below.
        AuditModule,
        HealthModule,
        InferenceModule,
        ModerationModule,
        RegistryModule,
        PromptsModule,
        RolloutsModule,
        BillingModule,
        TracingModule,
        LoggingModule,
        LimitsModule,
        MetricsModule,
        ProductsModule,
        KnowledgeModule,
        BatchModule,
        ConsoleModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        // Default-deny: authenticate, then check the handler's declared permission (in this order).
        { provide: APP_GUARD, useExisting: AuthenticationGuard },
        { provide: APP_GUARD, useExisting: PermissionGuard },
      ],
    };
  }
}
