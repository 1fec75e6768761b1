import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { IS_PUBLIC_KEY, REQUIRED_PERMISSION_KEY } from 'src/common/auth/auth.decorators';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthErrors } from 'src/modules/auth/auth.exception';

/** Runs after authentication: the handler's declared permission must be among the caller's. */
@Injectable()
export class PermissionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const required = this.reflector.getAllAndOverride<string | undefined>(REQUIRED_PERMISSION_KEY, targets);
    // A handler that declares nothing is closed, not open (the route-walk test keeps this from happening).
    if (required && request.principal?.permissions.has(required)) return true;
    this.audit.denied(request, {
      action: 'auth.authorize',
      targetType: 'permission',
      targetId: required ?? '(undeclared)',
    });
    throw AuthErrors.forbidden(
      required ? `Missing permission '${required}'.` : 'You do not have permission to perform this action.',
    );
  }
}
