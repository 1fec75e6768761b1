import { AuditModule } from 'src/modules/audit/audit.module';
import { ModerationAuditWriter } from 'src/modules/moderation/moderation-audit.writer';
import { Module } from '@nestjs/common';
import { PipelineCoreModule } from 'src/modules/pipeline/pipeline-core.module';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ModerationTeamPolicyEntity } from 'src/modules/moderation/entities/moderation-team-policy.entity';
import { ExternalModerationClient } from 'src/modules/moderation/external-moderation.client';
import { ModerationAdminService } from 'src/modules/moderation/moderation-admin.service';
import { ModerationController } from 'src/modules/moderation/moderation.controller';
import { ModerationPolicyStore } from 'src/modules/moderation/moderation-policy.store';
import { ModerationRepository } from 'src/modules/moderation/moderation.repository';
import { ModerationService } from 'src/modules/moderation/moderation.service';
import { OpenAIModerationsController } from 'src/modules/moderation/openai-moderations.controller';
import { OpenAIModerationsService } from 'src/modules/moderation/openai-moderations.service';
import { RoutingModule } from 'src/modules/routing/routing.module';
// Registers this module's `gatehouse.moderation` compiler with the route table when this file is loaded, i.e. before
// Nest creates any provider, so before RouteConfigService builds the first table (see route-extension.registry).
import 'src/modules/moderation/moderation.route-extension';

@Module({
  imports: [
    RoutingModule,
    AuditModule,
    PipelineCoreModule,
    TypeOrmModule.forFeature([ModerationTeamPolicyEntity]),
  ],
  controllers: [ModerationController, OpenAIModerationsController],
  providers: [
    ModerationRepository,
    ModerationAuditWriter,
    ModerationPolicyStore,
    ModerationService,
    ModerationAdminService,
    ExternalModerationClient,
    // Its own connection pool for moderation APIs (routing keeps its client private).
    OpenAIModerationsService,
  ],
  exports: [ModerationService],
})
export class ModerationModule {}
