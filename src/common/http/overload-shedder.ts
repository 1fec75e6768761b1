import { EventLoopUtilization, performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** Routes an operator needs during an overload (and that cost little): never shed. */
const EXEMPT = /^\/(health|metrics|admin|ui|docs|openapi\.json)(\/|\?|$)/;

export interface AdmissionSettings {
  /** Time in the gateway a request may take while the process is busy (ms): the least of a whole window above it is a queue. */
  targetMs: number;
  /** How long the queue must stand, from a quiet start, before shedding begins (ms). */
  intervalMs: number;
  /** Event-loop utilisation (0–1) from which a window counts as busy: below it the process has idle time. */
  busyUtilisation: number;
}

/**
 * A window counts as busy from this event-loop utilisation: the loop was idle for less than a tenth of
 * it. A process that waits (on Redis, an upstream, a stream's next chunk) is idle most of the time.
 */
export const ADMISSION_BUSY_UTILISATION = 0.9;

/** What one window measured. */
export interface AdmissionWindow {
  /** Share of the window the event loop was not idle (performance.eventLoopUtilization), 0–1. */
  utilisation: number;
  /**
   * Least time from arrival to the closed response of the requests that completed in the window (ms;
   * requests shed or answered 503 excluded, and a stream's relaying after its upstream's first chunk not
   * counted); undefined when none completed.
   */
  leastSojournMs: number | undefined;
  /** Requests being served at the end of the window. */
  inFlight: number;
}

/**
 * The decision of admission control: CoDel's standing-queue test, gated by the event loop's utilisation.
 * A window is *queued* when even the quickest request that completed in it spent more than the target in
 * the gateway (when none completed, it keeps the verdict before it, or is queued if requests arrived), and
 * *busy* when the loop had (almost) no idle time. Shedding starts when every window has been busy and
 * queued for a whole interval **and** the requests in flight are not draining (as many or more than half
 * an interval before). Each condition rules out one kind of false alarm:
 * - utilisation: requests that wait on something else (a frozen Redis, a 30 s LLM call, a slow stream)
 *   leave the loop idle, however long they take and however many there are;
 * - the least sojourn: a process that is busy but answers some request quickly has no standing queue;
 * - the interval and draining: a burst (200 requests at once) queues and keeps the loop busy, but once it
 *   has arrived the requests in flight only go down, and a burst that drains within an interval never
 *   reaches it.
 * Once shedding, a window without a queue (a request within the target, nothing in flight) or with a loop
 * idle half the time admits again, and a busy, queued window within two intervals of the last shedding
 * sheds again at once (the same overload, not a new burst): an on/off control that keeps the admitted
 * requests' time in the gateway near the target.
 * Pure: the caller supplies the time and the figures, so it is tested without a clock.
 */
export class AdmissionController {
  shedding = false;
  /** Start of the first window of the current run of busy, queued windows; NaN when there is none. */
  private aboveSince = NaN;
  private stoppedAt = -Infinity;
  private lastInFlight = 0;
  /** Requests in flight at the end of recent windows (a ring), to tell a draining queue from a growing one. */
  private readonly times = new Float64Array(64);
  private readonly counts = new Float64Array(64);
  private next = 0;

  constructor(private readonly settings: AdmissionSettings) {
    this.times.fill(NaN);
  }

  /** One window from `windowStart` to `now` (ms, any monotonic origin). Returns whether new requests are shed until the next. */
  update(windowStart: number, now: number, window: AdmissionWindow): boolean {
    const { targetMs, intervalMs, busyUtilisation } = this.settings;
    const { utilisation, leastSojournMs, inFlight } = window;
    const before = this.inFlightAt(now - intervalMs / 2);
    // At most 32 records per interval: the ring always reaches half an interval back.
    const last = this.times[(this.next + this.times.length - 1) % this.times.length];
    if (!(now - last < intervalMs / 32)) {
      this.times[this.next] = now;
      this.counts[this.next] = inFlight;
      this.next = (this.next + 1) % this.times.length;
    }
    // Nothing in flight is no queue, whatever the last requests took (a stalled machine, not a backlog).
    // A window in which nothing completed keeps the verdict before it, and is a queue of its own when
    // requests kept arriving.
    const queued =
      inFlight > 0 &&
      (leastSojournMs === undefined
        ? this.shedding || !Number.isNaN(this.aboveSince) || inFlight > this.lastInFlight
        : leastSojournMs > targetMs);
    this.lastInFlight = inFlight;
    // Hysteresis: shedding goes on while the queue stands and the loop is still at least half busy (a
    // process serving a backlog on a crowded machine dips below the busy mark without being idle).
    const busy = utilisation >= (this.shedding ? busyUtilisation / 2 : busyUtilisation);
    if (!(busy && queued)) {
      if (this.shedding) this.stoppedAt = now;
      this.shedding = false;
      this.aboveSince = NaN;
      return false;
    }
    if (Number.isNaN(this.aboveSince)) this.aboveSince = windowStart;
    if (!this.shedding)
      this.shedding =
        now - this.stoppedAt <= 2 * intervalMs ||
        (now - this.aboveSince >= intervalMs && before !== undefined && inFlight >= before);
    return this.shedding;
  }

  /** Requests in flight at the latest recorded window end at or before `time`. */
  private inFlightAt(time: number): number | undefined {
    let best: number | undefined;
    let bestTime = -Infinity;
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i];
      if (t <= time && t > bestTime) {
        bestTime = t;
        best = this.counts[i];
      }
    }
    return best;
  }
}

/** What the HTTP request counter tells admission control (src/modules/observability/metrics). */
export interface AdmissionFigures {
  /** Requests being served now. */
  readonly inFlight: number;
  /** The least sojourn (ms) of the requests completed since the last call (undefined if none), and reset. */
  takeLeastSojourn(): number | undefined;
}

/**
 * Admission control, off by default (ADMISSION_TARGET_DELAY_MS, ADMISSION_INTERVAL_MS; docs/reliability.md,
 * R8). Every 100 ms window contributes the event loop's utilisation (how much of the window it was not
 * idle), the least time in the gateway of the requests that completed in it, and the requests in flight,
 * to the AdmissionController. While it sheds, new data-plane requests are refused in the first onRequest
 * hook that can (before the body is read, authentication or any upstream call) with 503 `overloaded` and
 * `Retry-After: 1`. Requests in flight, streams included, always continue; health, metrics, admin and
 * console routes are never shed. The warm path pays one boolean read here (and two clock reads per request
 * in the counter); the sampling is one timer per window.
 */
export class OverloadShedder {
  private readonly timer: NodeJS.Timeout;
  private readonly controller: AdmissionController;
  private readonly logger = new Logger('Admission');
  private shedding = false;
  /** Requests shed since the process started, and since shedding last started. */
  shed = 0;
  private shedAtStart = 0;
  private episodeStart = -1;
  private lastShedding = 0;

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly figures: AdmissionFigures,
    windowMs = 100,
  ) {
    this.controller = new AdmissionController(settings);
    let last = performance.now();
    let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      const now = performance.now();
      const elu = performance.eventLoopUtilization();
      const utilisation = performance.eventLoopUtilization(elu, lastElu).utilization;
      this.window(last, now, utilisation, figures.takeLeastSojourn());
      last = now;
      lastElu = elu;
    }, windowMs);
    this.timer.unref();
  }

  /** One measured window (called by the timer; tests call it with their own figures). */
  window(windowStart: number, now: number, utilisation: number, leastSojournMs: number | undefined): void {
    const inFlight = this.figures.inFlight;
    this.shedding = this.controller.update(windowStart, now, { utilisation, leastSojournMs, inFlight });
    if (this.shedding) this.lastShedding = now;
    // One line when an overload starts and one when it is over (no shedding for two intervals), not
    // one per window of the on/off control in between.
    if (this.shedding && this.episodeStart < 0) {
      this.episodeStart = now;
      this.shedAtStart = this.shed;
      this.logger.warn(
        `overloaded: shedding new requests (event loop ${Math.round(utilisation * 100)}% busy, quickest request ${Math.round(leastSojournMs ?? NaN)} ms, ${inFlight} in flight)`,
      );
    } else if (
      !this.shedding &&
      this.episodeStart >= 0 &&
      now - this.lastShedding > 2 * this.settings.intervalMs
    ) {
      this.logger.log(
        `overload over: ${this.shed - this.shedAtStart} requests shed in ${Math.round((this.lastShedding - this.episodeStart) / 1000)} s`,
      );
      this.episodeStart = -1;
    }
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
  }
}
