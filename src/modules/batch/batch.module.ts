import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { EndpointAccessGuard } from 'src/modules/auth/endpoint-access.guard';
import { BatchOutput } from 'src/modules/batch/batch-output';
import { BatchRepository } from 'src/modules/batch/batch.repository';
import { BatchRunner } from 'src/modules/batch/batch-runner.service';
import { BatchesController } from 'src/modules/batch/batches.controller';
import { BatchesService } from 'src/modules/batch/batches.service';
import { FilesController } from 'src/modules/batch/files.controller';
import { FilesService } from 'src/modules/batch/files.service';
import { LimitsModule } from 'src/modules/limits/limits.module';
import { RateLimitGuard } from 'src/modules/limits/rate-limit.guard';
import { MetricsModule } from 'src/modules/observability/metrics/metrics.module';
import { InvocationResolver } from 'src/modules/pipeline/invocation-resolver';
import { PipelineCoreModule } from 'src/modules/pipeline/pipeline-core.module';
import { PipelineInvoker } from 'src/modules/pipeline/pipeline-invoker.service';
import { PromptsModule } from 'src/modules/prompts/prompts.module';
import { RoutingModule } from 'src/modules/routing/routing.module';

/**
 * OpenAI's Files and Batch API and the durable job runner that executes batch lines through the
 * request pipeline (PipelineInvoker: the pipeline's guards and stages, as a direct call runs them).
 */
@Module({
  imports: [
    AuthModule,
    AuditModule,
    LimitsModule,
    RoutingModule,
    PromptsModule,
    PipelineCoreModule,
    MetricsModule,
  ],
  controllers: [FilesController, BatchesController],
  providers: [
    BatchRepository,
    FilesService,
    BatchesService,
    BatchOutput,
    BatchRunner,
    PipelineInvoker,
    InvocationResolver,
    EndpointAccessGuard,
    RateLimitGuard,
  ],
})
export class BatchModule {}
