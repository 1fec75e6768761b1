import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Principal } from 'src/common/auth/principal';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** Who makes an admin change, as services see it (never the Fastify request). */
export interface AdminActor {
  principal: Principal;
  requestId: string;
  ip: string | null;
}

export function adminActorOf(request: FastifyRequest): AdminActor {
  if (!request.principal) {
    throw new GatewayException(401, GatewayErrorCode.MissingCredentials, 'Authentication required.');
  }
  return { principal: request.principal, requestId: String(request.id), ip: request.ip ?? null };
}

/** The authenticated caller of an admin handler, as an AdminActor. */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): AdminActor =>
  adminActorOf(context.switchToHttp().getRequest<FastifyRequest>()),
);
