import { Module } from '@nestjs/common';
import { CacheModule } from 'src/modules/cache/cache.module';
import { InferenceService } from 'src/modules/inference/inference.service';
import { MlflowController } from 'src/modules/inference/mlflow.controller';
import { ModelListService } from 'src/modules/inference/model-list.service';
import { OpenAIController } from 'src/modules/inference/openai.controller';
import { AuthModule } from 'src/modules/auth/auth.module';
import { ModerationModule } from 'src/modules/moderation/moderation.module';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { PromptsModule } from 'src/modules/prompts/prompts.module';
import { ConversationsModule } from 'src/modules/conversations/conversations.module';

@Module({
  imports: [
    RoutingModule,
    AuthModule,
    CacheModule,
    ModerationModule,
    RegistryModule,
    PromptsModule,
    ConversationsModule,
  ],
  controllers: [OpenAIController, MlflowController],
  providers: [InferenceService, ModelListService],
})
export class InferenceModule {}
