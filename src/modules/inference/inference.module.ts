import { Module } from '@nestjs/common';
import { AnthropicController } from 'src/modules/inference/anthropic.controller';
import { AskController } from 'src/modules/inference/ask.controller';
import { KnowledgeModule } from 'src/modules/knowledge/knowledge.module';
import { GeminiController } from 'src/modules/inference/gemini.controller';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { CacheModule } from 'src/modules/cache/cache.module';
import { ConversationInterceptor } from 'src/modules/conversations/conversation.interceptor';
import { ConversationsModule } from 'src/modules/conversations/conversations.module';
import { MlflowController } from 'src/modules/inference/mlflow.controller';
import { ModelListService } from 'src/modules/inference/model-list.service';
import { OpenAIController } from 'src/modules/inference/openai.controller';
import { PredictController } from 'src/modules/inference/predict.controller';
import { PromptApisController } from 'src/modules/inference/prompt-apis.controller';
import { ResponsesController } from 'src/modules/inference/responses.controller';
import { LimitsModule } from 'src/modules/limits/limits.module';
import { ModerationInterceptor } from 'src/modules/moderation/moderation.interceptor';
import { ModerationModule } from 'src/modules/moderation/moderation.module';
import { InvocationResolver } from 'src/modules/pipeline/invocation-resolver';
import { RequestInterceptor } from 'src/modules/pipeline/request.interceptor';
import { PipelineCoreModule } from 'src/modules/pipeline/pipeline-core.module';
import { PromptInterceptor } from 'src/modules/prompts/prompt.interceptor';
import { PromptsModule } from 'src/modules/prompts/prompts.module';
import { ProductsModule } from 'src/modules/products/products.module';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { ResponsesModule } from 'src/modules/responses/responses.module';
import { StoredResponsesInterceptor } from 'src/modules/responses/stored-responses.interceptor';

/**
 * The public inference entry points (OpenAI, Anthropic, Gemini, MLflow, predict paths, prompt APIs): thin controllers that
 * declare `@Invocation(…)`; every stage of the pipeline comes from the modules imported here.
 */
@Module({
  imports: [
    RoutingModule,
    AuthModule,
    AuditModule,
    CacheModule,
    ModerationModule,
    PromptsModule,
    ConversationsModule,
    LimitsModule,
    PipelineCoreModule,
    ResponsesModule,
    ProductsModule,
    KnowledgeModule,
  ],
  controllers: [
    OpenAIController,
    AnthropicController,
    GeminiController,
    ResponsesController,
    MlflowController,
    PredictController,
    PromptApisController,
    AskController,
  ],
  providers: [
    ModelListService,
    InvocationResolver,
    // The stages no other module runs on its own (tracing, limits and cache come with PipelineCoreModule).
    PromptInterceptor,
    RequestInterceptor,
    ConversationInterceptor,
    ModerationInterceptor,
    StoredResponsesInterceptor,
  ],
})
export class InferenceModule {}
