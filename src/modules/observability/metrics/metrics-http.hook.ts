import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * One Fastify onRequest hook: counts HTTP requests in flight and by status class (health probes and
 * scrapes excluded), and answers `GET /metrics` itself when the caller presents METRICS_TOKEN (a
 * scraper is not a gateway principal). Any other /metrics call goes on to the guarded controller.
 */
@Injectable()
export class MetricsHttpHook implements OnModuleInit {
  private readonly token: Buffer | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {
    this.token = config.METRICS_TOKEN ? digest(`Bearer ${config.METRICS_TOKEN}`) : undefined;
  }

  /** At module init, so the hook runs before the guards' early refusals (those are counted too). */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    const metrics = this.metrics;
    fastify.addHook('onRequest', (request, reply, done) => {
      const route = request.routeOptions.url;
      if (route === '/metrics') {
        if (request.method === 'GET' && this.presentsToken(request.headers.authorization)) {
          this.serve(reply);
          return;
        }
        done();
        return;
      }
      if (route !== undefined && route.startsWith('/health')) {
        done();
        return;
      }
      metrics.httpStarted();
      const raw = reply.raw;
      raw.once('close', () => metrics.httpFinished(raw.statusCode, !raw.writableFinished));
      done();
    });
  }

  private presentsToken(authorization: string | undefined): boolean {
    return (
      this.token !== undefined &&
      authorization !== undefined &&
      timingSafeEqual(digest(authorization), this.token)
    );
  }

  private serve(reply: FastifyReply): void {
    this.metrics.render().then(
      (text) =>
        void reply
          .header('content-type', this.metrics.contentType)
          .header('cache-control', 'no-store')
          .send(text),
      () => void reply.code(500).header('content-type', 'text/plain').send('metrics unavailable\n'),
    );
  }
}
