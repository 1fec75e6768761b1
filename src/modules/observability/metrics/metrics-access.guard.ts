import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthenticationGuard } from 'src/modules/auth/authentication.guard';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Who may scrape `/metrics`: a scraper presenting METRICS_TOKEN (it is not a gateway principal), or a
 * principal with `metrics.read` (authenticated like any other caller: failures counted and audited).
 */
@Injectable()
export class MetricsAccessGuard implements CanActivate {
  private readonly token: Buffer | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly authentication: AuthenticationGuard,
  ) {
    this.token = config.METRICS_TOKEN ? digest(`Bearer ${config.METRICS_TOKEN}`) : undefined;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const authorization = request.headers.authorization;
    if (this.token && authorization !== undefined && timingSafeEqual(digest(authorization), this.token)) {
      return true;
    }
    await this.authentication.authenticate(request, http.getResponse<FastifyReply>());
    if (request.principal?.permissions.has('metrics.read')) return true;
    throw AuthErrors.forbidden("Missing permission 'metrics.read'.");
  }
}
