import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyReply, FastifyRequest } from 'fastify';
import { matching, rateLimitHeaders } from 'src/modules/limits/limit-counters.service';
import { LimitsCatalogService } from 'src/modules/limits/limits-catalog.service';
import { LimitsThrottlerStorage } from 'src/modules/limits/limits-throttler.storage';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';

const RATE_LIMITED_AS = 'gatehouse:rate-limited-as';

/**
 * Puts a data-plane route that is not an inference invocation (`/v1/moderations`) under the same
 * request-rate limits: the rules without an endpoint (per key, principal, team, global) count its
 * requests on the same counters as inference, and rules naming `endpoint` count it alone.
 */
export const RateLimitedAs = (endpoint: string): MethodDecorator => SetMetadata(RATE_LIMITED_AS, endpoint);

/** Request-rate admission for `@RateLimitedAs` routes: one atomic step over every rule that applies (429 past one). */
@Injectable()
export class RequestRateGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly counters: LimitsThrottlerStorage,
    private readonly catalog: LimitsCatalogService,
    private readonly holder: RouteTableHolder,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const endpoint = this.reflector.get<string | undefined>(RATE_LIMITED_AS, context.getHandler());
    if (!endpoint) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const rules = [...this.holder.current.topLimits, ...this.catalog.rules];
    const hits = matching(rules, request.principal, endpoint).filter((hit) => hit.item.metric === 'requests');
    if (hits.length === 0) return true;
    const now = Date.now();
    const admitted = await this.counters.admitAll(
      hits.map(({ item, subject }) => ({ rule: item, subject })),
      now,
    );
    const reply = http.getResponse<FastifyReply>();
    const headers = rateLimitHeaders(admitted.ops, admitted.meta, admitted.after, now);
    for (const name in headers) void reply.header(name, headers[name]);
    return true;
  }
}
