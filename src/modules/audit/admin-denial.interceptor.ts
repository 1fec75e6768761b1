import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Observable, catchError, throwError } from 'rxjs';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { AuditService } from 'src/modules/audit/audit.service';

/**
 * Records an admin request refused by the ownership model (403 from a service, e.g. another team's
 * setting that only an admin may make) as a denial, like the permission guard does for a missing
 * permission. Admin paths only: the data plane's refusals are its own business.
 */
@Injectable()
export class AdminDenialInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith('/admin/')) return next.handle();
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof GatewayException && error.code === GatewayErrorCode.PermissionDenied) {
          this.audit.denied(request, {
            action: 'tenancy.authorize',
            targetType: 'admin-route',
            targetId: `${request.method} ${request.routeOptions?.url ?? ''}`.slice(0, 256),
          });
        }
        return throwError(() => error);
      }),
    );
  }
}
