import { Module } from '@nestjs/common';
import { CacheInterceptor } from 'src/modules/cache/cache.interceptor';
import { CacheModule } from 'src/modules/cache/cache.module';
import { LimitsInterceptor } from 'src/modules/limits/limits.interceptor';
import { LimitsModule } from 'src/modules/limits/limits.module';
import { TracingInterceptor } from 'src/modules/observability/tracing/tracing.interceptor';
import { InternalInvocations } from 'src/modules/pipeline/internal-invocations.service';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { TokensModule } from 'src/modules/tokens/tokens.module';

/**
 * The pipeline's handler and the runner of calls made on a caller's behalf, for the modules that make
 * such calls (moderation, conversations) and for the inference entry points.
 */
@Module({
  imports: [RoutingModule, RegistryModule, LimitsModule, CacheModule, TokensModule],
  providers: [
    InvocationDispatcher,
    InternalInvocations,
    TracingInterceptor,
    LimitsInterceptor,
    CacheInterceptor,
  ],
  exports: [InvocationDispatcher, InternalInvocations],
})
export class PipelineCoreModule {}
