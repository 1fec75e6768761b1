import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { CsvBody } from 'src/common/http/csv-body';
import { AuditService } from 'src/modules/audit/audit.service';
import { AccessService } from 'src/modules/auth/access.service';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { InvocationContext, invocationContextOf } from 'src/modules/pipeline/invocation-context';

/**
 * Data-plane authorization, the pipeline's second stage: the caller (its grants, its team's, and its API
 * key's endpoint scope) must reach the endpoint or traffic route it named; a traffic route then draws
 * among the destinations the caller reaches (weights renormalised), by the route's strategy. Denials are
 * audited. From memory only.
 */
@Injectable()
export class EndpointAccessGuard implements CanActivate {
  constructor(
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    this.authorize(invocationContextOf(context), (targetType, targetId) =>
      this.deny(context, targetType, targetId),
    );
    return true;
  }

  /**
   * The stage itself, on the invocation's context: HTTP requests reach it through `canActivate`, batch
   * lines through the pipeline's internal entry point (PipelineInvoker); `deny` records a refusal.
   */
  authorize(ctx: InvocationContext, deny: (targetType: string, targetId: string) => void): void {
    const entry = ctx.entry;
    if (!entry) throw new Error('EndpointAccessGuard before the invocation guard');
    const principal = ctx.principal;
    if (!this.access.canInvoke(principal, entry.name)) {
      deny('endpoint', entry.name);
      throw AuthErrors.forbidden(`You do not have access to endpoint '${entry.name.slice(0, 128)}'.`);
    }
    const record = ctx.record;
    if (entry.kind === 'endpoint') {
      ctx.endpoint = entry;
    } else if (entry.kind === 'model') {
      ctx.model = entry;
    } else {
      const body =
        ctx.body instanceof CsvBody ? undefined : (ctx.body as Record<string, unknown> | undefined);
      const picked =
        entry.endpointType === 'ml/v1/predict'
          ? (ctx.model = this.access.pickFrom(principal, entry, { headers: ctx.headers, body }))
          : (ctx.endpoint = this.access.pickFrom(principal, entry, { headers: ctx.headers, body }));
      if (!picked) {
        deny('route', entry.name);
        throw AuthErrors.forbidden(
          `You do not have access to any destination of '${entry.name.slice(0, 128)}'.`,
        );
      }
    }
    const endpoint = ctx.endpoint;
    if (endpoint) {
      record.endpoint = endpoint.name;
      record.provider = endpoint.provider;
      record.model = endpoint.modelName;
      ctx.header('x-gatehouse-endpoint', endpoint.name);
    } else if (ctx.model) {
      record.endpoint = ctx.model.name;
      record.model = ctx.model.registeredModel;
      ctx.header('x-gatehouse-endpoint', ctx.model.name);
    }
  }

  private deny(context: ExecutionContext, targetType: string, targetId: string): void {
    this.audit.denied(context.switchToHttp().getRequest<FastifyRequest>(), {
      action: 'endpoint.invoke',
      targetType,
      targetId,
    });
  }
}
