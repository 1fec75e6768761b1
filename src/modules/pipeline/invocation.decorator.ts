import { applyDecorators, HttpCode, Res, SetMetadata, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { INVOCATION_SPEC, InvocationSpec } from 'src/modules/pipeline/invocation-context';
import { ResponseInterceptor } from 'src/modules/pipeline/response.interceptor';
import { INVOCATION_GUARDS } from 'src/modules/pipeline/stages';

/**
 * Makes a handler an inference entry point: `inference.invoke` permission, then every pipeline stage in
 * its one declared order (see stages.ts): the guards, then the edge interceptor, which runs the stages. A route cannot skip a stage by forgetting a call; the
 * policy route-walk test fails for any inference route without this decorator. The handler only
 * dispatches the call: the response is written by the edge interceptor, so the reply is handed to Nest
 * as handled (an extra `@Res()` argument the handler never reads).
 */
export function Invocation(spec: InvocationSpec): MethodDecorator {
  const stages = applyDecorators(
    SetMetadata(INVOCATION_SPEC, spec),
    RequirePermission('inference.invoke'),
    ApiBearerAuth(),
    HttpCode(200),
    UseGuards(...INVOCATION_GUARDS),
    UseInterceptors(ResponseInterceptor),
  );
  return (target, key, descriptor) => {
    stages(target, key, descriptor);
    const handler = descriptor.value as unknown as (...args: unknown[]) => unknown;
    Res()(target, key, handler.length);
  };
}
