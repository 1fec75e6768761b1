import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { invocationContextOf } from 'src/modules/pipeline/invocation-context';

/** The invocation's context in an `@Invocation()` handler (built by the invocation guard). */
export const Ctx = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  invocationContextOf(context),
);
