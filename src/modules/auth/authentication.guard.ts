import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { IS_PUBLIC_KEY } from 'src/common/auth/auth.decorators';
import { Telemetry } from 'src/common/observability/telemetry';
import { AuthenticationService } from 'src/modules/auth/authentication.service';

/** Default-deny: every route authenticates unless it is marked @Public(). */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: AuthenticationService,
    private readonly telemetry: Telemetry,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    request.principal = await this.telemetry.phase('auth', undefined, () =>
      this.authentication.authenticate(request),
    );
    return true;
  }
}
