import { AuditModule } from 'src/modules/audit/audit.module';
import { MlflowRegistryClient } from 'src/modules/registry/mlflow-registry.client';
import { MlflowPromptSync } from 'src/modules/prompts/mlflow-prompt.sync';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PromptApiEntity } from 'src/modules/prompts/entities/prompt-api.entity';
import { PromptLabelEntity } from 'src/modules/prompts/entities/prompt-label.entity';
import { PromptTemplateEntity } from 'src/modules/prompts/entities/prompt-template.entity';
import { PromptVersionEntity } from 'src/modules/prompts/entities/prompt-version.entity';
import { PromptAdminService } from 'src/modules/prompts/prompt-admin.service';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { PromptRepository } from 'src/modules/prompts/prompt.repository';
import { PromptService } from 'src/modules/prompts/prompt.service';
import { PromptsController } from 'src/modules/prompts/prompts.controller';
import { PromptApiDocs } from 'src/modules/prompts/prompt-api.docs';
import { PromptApiService } from 'src/modules/prompts/prompt-api.service';
import { PromptApisAdminController } from 'src/modules/prompts/prompt-apis.controller';
import { PromptBindingPolicy } from 'src/modules/prompts/prompt-binding.policy';
import { RoutingModule } from 'src/modules/routing/routing.module';

@Module({
  imports: [
    RoutingModule,
    AuditModule,
    TypeOrmModule.forFeature([PromptTemplateEntity, PromptVersionEntity, PromptLabelEntity, PromptApiEntity]),
  ],
  controllers: [PromptsController, PromptApisAdminController],
  providers: [
    PromptRepository,
    PromptCatalogHolder,
    PromptAdminService,
    PromptService,
    PromptApiService,
    PromptApiDocs,
    // Its own client for the MLflow Prompt Registry (the registry module keeps its client private).
    MlflowRegistryClient,
    MlflowPromptSync,
    PromptBindingPolicy,
  ],
  exports: [PromptService, PromptApiService, PromptApiDocs, PromptBindingPolicy],
})
export class PromptsModule {}
