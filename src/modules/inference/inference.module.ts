import { Module } from '@nestjs/common';
import { InferenceService } from 'src/modules/inference/inference.service';
import { MlflowController } from 'src/modules/inference/mlflow.controller';
import { ModelListService } from 'src/modules/inference/model-list.service';
import { OpenAIController } from 'src/modules/inference/openai.controller';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { PromptsModule } from 'src/modules/prompts/prompts.module';
import { ConversationsModule } from 'src/modules/conversations/conversations.module';

@Module({
  imports: [RoutingModule, PromptsModule, ConversationsModule],
  controllers: [OpenAIController, MlflowController],
  providers: [InferenceService, ModelListService],
})
export class InferenceModule {}
