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
  /**
   * Least time in the gateway (arrival to closed response, less the relaying of upstream streams after
   * their first chunk) of the requests completed since admission control last read it.
   */
  private leastSojournMs = Infinity;
  /** Whether admission control reads the sojourns (bootstrap.ts sets it); off, no clock is read. */
  measureSojourn = false;

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
    const started = this.measureSojourn ? performance.now() : NaN;
    raw.once('close', () => {
      this.inFlight--;
      // A 503 (shed by admission control, or the gateway refusing for a dependency) says nothing about the queue.
      if (!Number.isNaN(started) && raw.statusCode !== 503) {
        // A stream's relaying after its first chunk goes at the upstream's pace: not queueing here.
        const ms = performance.now() - started - (request.invocation?.record.streamedMs ?? 0);
        if (ms < this.leastSojournMs) this.leastSojournMs = ms;
      }
      metrics.httpFinished(raw.statusCode, !raw.writableFinished);
    });
    done();
  };

  /** The least sojourn (ms) since the last call, undefined when no request completed; starts a new window. */
  takeLeastSojourn(): number | undefined {
    const least = this.leastSojournMs;
    this.leastSojournMs = Infinity;
    return least === Infinity ? undefined : least;
  }
}
