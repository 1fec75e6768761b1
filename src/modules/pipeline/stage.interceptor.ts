import { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, Observable } from 'rxjs';
import {
  InvocationContext,
  invocationContextOf,
  InvocationResult,
  InvocationStage,
  StageNext,
} from 'src/modules/pipeline/invocation-context';

/**
 * A pipeline stage as a Nest interceptor: the stage's logic lives in `around(ctx, next)`, which HTTP
 * entry points reach through `intercept` and calls made on a caller's behalf through InternalInvocations,
 * so both run the very same code.
 */
export abstract class StageInterceptor
  implements NestInterceptor<InvocationResult, InvocationResult>, InvocationStage
{
  abstract around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult>;

  intercept(context: ExecutionContext, next: CallHandler<InvocationResult>): Observable<InvocationResult> {
    return from(this.around(invocationContextOf(context), () => lastValueFrom(next.handle())));
  }
}
