import { IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** Routes an operator needs during an overload (and that cost little): never shed. */
const EXEMPT = /^\/(health|metrics|admin|ui|docs|openapi\.json)(\/|\?|$)/;

export interface AdmissionSettings {
  /** Queueing delay a process may keep standing (ms): the least delay of a whole window above it is a queue. */
  targetMs: number;
  /** How long the delay must stay above the target, from a quiet start, before shedding begins (ms). */
  intervalMs: number;
}

/**
 * The decision of admission control, CoDel's idea applied to the event loop: a queue is *standing* when
 * even the least queueing delay seen over a whole interval stays above the target, and it is an
 * *overload* when, in addition, the requests in flight are not draining (as many or more than half an
 * interval ago). A burst (200 requests at once, streams starting together) raises the delay, but once
 * it has arrived the requests in flight only go down, so it is admitted whole however long it takes to
 * serve; a load past capacity keeps the delay up while requests keep arriving, and is shed. Once shedding
 * has started, a window at or below the target admits again, and a window above it within two intervals
 * of the last shedding sheds again at once (the overload is still there, not a new burst).
 * Pure: the caller supplies the time, the delay and the count, so it is tested without a clock.
 */
export class AdmissionController {
  shedding = false;
  /** Start of the first window of the current run of windows above the target; NaN when below. */
  private aboveSince = NaN;
  private stoppedAt = -Infinity;
  /** Requests in flight at the end of recent windows (a ring), to tell a draining queue from a growing one. */
  private readonly times = new Float64Array(64);
  private readonly counts = new Float64Array(64);
  private next = 0;

  constructor(private readonly settings: AdmissionSettings) {
    this.times.fill(NaN);
  }

  /**
   * One window from `windowStart` to `now` (ms, any monotonic origin) whose least queueing delay was
   * `minDelayMs`, with `inFlight` requests being served at its end. Returns whether new requests are
   * shed until the next window.
   */
  update(windowStart: number, now: number, minDelayMs: number, inFlight: number): boolean {
    const { targetMs, intervalMs } = this.settings;
    const before = this.inFlightAt(now - intervalMs / 2);
    // At most 32 records per interval: the ring always reaches half an interval back.
    const last = this.times[(this.next + this.times.length - 1) % this.times.length];
    if (!(now - last < intervalMs / 32)) {
      this.times[this.next] = now;
      this.counts[this.next] = inFlight;
      this.next = (this.next + 1) % this.times.length;
    }
    if (!(minDelayMs > targetMs)) {
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

/**
 * Admission control, on by default (ADMISSION_TARGET_DELAY_MS, ADMISSION_INTERVAL_MS; docs/reliability.md,
 * R8). The queueing delay is the event loop's: how late a 10 ms timer fires. Every stage of a request
 * (parse, auth, Redis, upstream answer, each stream chunk) waits one loop turn, so a standing loop delay
 * is what each admitted request pays several times over, and what requests still in the kernel's or the
 * client's queues are waiting behind. Each window's least delay feeds the AdmissionController; while it
 * sheds, new data-plane requests are refused in the first onRequest hook that can (before the body is
 * read, authentication or any upstream call) with 503 `overloaded` and `Retry-After: 1`. Requests in
 * flight, streams included, always continue; health, metrics, admin and console routes are never shed.
 * The warm path pays one boolean read; the sampling is native (libuv timer) plus one JS timer per window.
 */
export class OverloadShedder {
  private readonly histogram: IntervalHistogram;
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
    /** Requests being served now (all routes but probes and scrapes). */
    private readonly inFlight: () => number,
    windowMs = 100,
  ) {
    this.controller = new AdmissionController(settings);
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      // The histogram's least sample is the best loop turn of the window. A window without a sample was
      // one long stall: this timer's own lateness measures it.
      const minDelayMs =
        this.histogram.count > 0 ? this.histogram.min / 1e6 : Math.max(0, now - last - windowMs);
      this.window(last, now, minDelayMs);
      last = now;
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** One measured window (called by the timer; tests call it with their own figures). */
  window(windowStart: number, now: number, minDelayMs: number): void {
    this.shedding = this.controller.update(windowStart, now, minDelayMs, this.inFlight());
    if (this.shedding) this.lastShedding = now;
    // One line when an overload starts and one when it is over (no shedding for two intervals), not
    // one per window of the on/off control in between.
    if (this.shedding && this.episodeStart < 0) {
      this.episodeStart = now;
      this.shedAtStart = this.shed;
      this.logger.warn(`overloaded: shedding new requests (event-loop delay ${Math.round(minDelayMs)} ms)`);
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
    this.histogram.disable();
  }
}
