import { AuditModule } from 'src/modules/audit/audit.module';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { RegistrySnapshotEntity } from 'src/modules/registry/entities/registry-snapshot.entity';
import { MlflowRegistryClient } from 'src/modules/registry/mlflow-registry.client';
import { MlflowWebhookController } from 'src/modules/registry/mlflow-webhook.controller';
import { ModelServingService } from 'src/modules/registry/model-serving.service';
import { RegistryAdminService } from 'src/modules/registry/registry-admin.service';
import { RegistryController } from 'src/modules/registry/registry.controller';
import { RegistryEvents } from 'src/modules/registry/registry.events';
import { RegistryHealthIndicator } from 'src/modules/registry/registry.health';
import { RegistryService } from 'src/modules/registry/registry.service';
import { RegistrySnapshotRepository } from 'src/modules/registry/registry-snapshot.repository';
import { ServingHealthMonitor } from 'src/modules/registry/serving-health.monitor';
import { WebhookDeliveries } from 'src/modules/registry/webhook-deliveries';

@Module({
  imports: [RoutingModule, AuditModule, TypeOrmModule.forFeature([RegistrySnapshotEntity])],
  controllers: [RegistryController, MlflowWebhookController],
  providers: [
    MlflowRegistryClient,
    RegistrySnapshotRepository,
    RegistryService,
    RegistryAdminService,
    RegistryEvents,
    RegistryHealthIndicator,
    ServingHealthMonitor,
    ModelServingService,
    WebhookDeliveries,
  ],
  exports: [RegistryService, RegistryEvents, RegistryHealthIndicator, ModelServingService],
})
export class RegistryModule {}
