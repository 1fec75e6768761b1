import { IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** Routes an operator needs during an overload (and that cost little): never shed. */
const EXEMPT = /^\/(health|metrics|admin|ui|docs|openapi\.json)(\/|\?|$)/;

/**
 * Admission control: while the process's mean event-loop delay over the last window is above the bound,
 * new data-plane requests are refused at once with 503 and `Retry-After: 1` instead of joining a queue
 * that only grows (a request admitted past capacity waits for every one before it). Requests already in
 * flight, streams included, continue. The delay is the process's own queueing signal, independent of how
 * long upstream calls take (an in-flight cap would refuse long streams that cost nothing).
 */
export class OverloadShedder {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private shedding = false;
  shed = 0;

  constructor(
    private readonly maxDelayMs: number,
    windowMs = 250,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    let last = performance.now();
    this.timer = setInterval(() => {
      // Two views of the same delay: the histogram's samples (many short stalls), and this timer's own
      // lateness (one long stall, during which the histogram took no sample at all).
      const now = performance.now();
      const late = now - last - windowMs;
      last = now;
      const meanMs = this.histogram.count > 0 ? this.histogram.mean / 1e6 : 0;
      this.shedding = Math.max(late, meanMs) > this.maxDelayMs;
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  readonly onRequest = (
    request: FastifyRequest,
    _reply: FastifyReply,
    done: (error?: Error) => void,
  ): void => {
    if (!this.shedding || EXEMPT.test(request.url)) {
      done();
      return;
    }
    this.shed++;
    done(
      new GatewayException(503, GatewayErrorCode.Overloaded, 'The gateway is overloaded; retry shortly.', {
        retryAfter: '1',
        type: 'server_error',
      }),
    );
  };

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
