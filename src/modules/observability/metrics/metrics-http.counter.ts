import { Injectable } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';

/**
 * Counts HTTP requests in flight and by status class (health probes and scrapes excluded), from
 * Fastify's onRequest hook (registered in bootstrap.ts), so requests Fastify or an earlier hook refuses
 * (bad bodies, missing credentials) are counted too.
 */
@Injectable()
export class MetricsHttpCounter {
  /** Requests being served now, as a plain number (admission control reads it once per window). */
  inFlight = 0;

  constructor(private readonly metrics: MetricsService) {}

  readonly onRequest = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const route = request.routeOptions.url;
    if (route === '/metrics' || (route !== undefined && route.startsWith('/health'))) {
      done();
      return;
    }
    const metrics = this.metrics;
    metrics.httpStarted();
    this.inFlight++;
    const raw = reply.raw;
    raw.once('close', () => {
      this.inFlight--;
      metrics.httpFinished(raw.statusCode, !raw.writableFinished);
    });
    done();
  };
}
