import { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { AdmissionController, AdmissionFigures, OverloadShedder } from 'src/common/http/overload-shedder';

interface Feed {
  /** Event-loop utilisation of each window (one number for all). */
  busy: number | number[];
  /** Least sojourn of each window's completed requests (ms; undefined: none completed). */
  sojourn: number | undefined | (number | undefined)[];
  inFlight: number | number[];
}

/** Feeds `windows` 100 ms windows from `start`; returns each window's decision. */
function run(controller: AdmissionController, windows: number, feed: Feed, start = 0): boolean[] {
  const at = <T>(value: T | T[], i: number): T => (Array.isArray(value) ? value[i] : value);
  return Array.from({ length: windows }, (_, i) =>
    controller.update(start + i * 100, start + (i + 1) * 100, {
      utilisation: at(feed.busy, i),
      leastSojournMs: at(feed.sojourn, i),
      inFlight: at(feed.inFlight, i),
    }),
  );
}
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);
const growing = (n: number, from: number, step: number) =>
  Array.from({ length: n }, (_, i) => from + i * step);

describe('AdmissionController', () => {
  const settings = { targetMs: 500, intervalMs: 1_000, busyUtilisation: 0.9 };

  it('sheds once the loop has been busy and every request slow for the interval while requests keep arriving', () => {
    const controller = new AdmissionController(settings);
    const decisions = run(controller, 12, { busy: 0.99, sojourn: 700, inFlight: growing(12, 10, 5) });
    // Windows end at 100, 200, … ms; the run began at 0, so the 10th (ends at 1 000 ms) is the first to shed.
    expect(decisions.indexOf(true)).toBe(9);
    expect(decisions.slice(9)).toEqual([true, true, true]);
  });

  it('sheds a standing queue whose requests in flight hold steady (the client cannot send more)', () => {
    const controller = new AdmissionController(settings);
    expect(run(controller, 10, { busy: 1, sojourn: 3_000, inFlight: 256 })[9]).toBe(true);
  });

  it('does not shed requests that wait on something else: the loop has idle time (Redis frozen, slow upstreams)', () => {
    const controller = new AdmissionController(settings);
    // 2 000 streams of 30 s each, or requests waiting a second on a Redis timeout: slow, many, growing.
    const decisions = run(controller, 100, { busy: 0.6, sojourn: 30_000, inFlight: growing(100, 100, 20) });
    expect(decisions.some((shed) => shed)).toBe(false);
  });

  it('does not shed a busy process that still answers some requests within the target', () => {
    const controller = new AdmissionController(settings);
    const decisions = run(controller, 50, { busy: 1, sojourn: 120, inFlight: growing(50, 10, 2) });
    expect(decisions.some((shed) => shed)).toBe(false);
  });

  it('admits a burst that drains within the interval', () => {
    const controller = new AdmissionController(settings);
    // 67 requests at once: 900 ms of a busy loop and slow answers, then quiet.
    const decisions = run(controller, 30, {
      busy: [...times(9, 1), ...times(21, 0.1)],
      sojourn: [...times(9, 800), ...times(21, 20)],
      inFlight: [...growing(9, 67, -7), ...times(21, 0)],
    });
    expect(decisions.some((shed) => shed)).toBe(false);
  });

  it('admits a burst that keeps the loop busy for many intervals while it drains', () => {
    const controller = new AdmissionController(settings);
    // 200 requests arrive in the first window, then only leave (4 per window) for 5 s.
    const decisions = run(controller, 50, {
      busy: 1,
      sojourn: 2_000,
      inFlight: [200, ...growing(49, 198, -4)],
    });
    expect(decisions.some((shed) => shed)).toBe(false);
  });

  it('needs the interval without a break: one quick request or one idle window restarts the count', () => {
    for (const gap of [
      { busy: 1, sojourn: 100 },
      { busy: 0.5, sojourn: 900 },
    ]) {
      const controller = new AdmissionController(settings);
      const decisions = run(controller, 19, {
        busy: [...times(9, 1), gap.busy, ...times(9, 1)],
        sojourn: [...times(9, 900), gap.sojourn, ...times(9, 900)],
        inFlight: growing(19, 1, 3),
      });
      expect(decisions.some((shed) => shed)).toBe(false);
      expect(run(controller, 1, { busy: 1, sojourn: 900, inFlight: 100 }, 1_900)).toEqual([true]);
    }
  });

  it('a window in which no request completed keeps the verdict of the one before', () => {
    const controller = new AdmissionController(settings);
    // Slow windows interleaved with windows without completions still add up to an interval.
    const sojourn = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 800 : undefined));
    expect(run(controller, 10, { busy: 1, sojourn, inFlight: growing(10, 10, 5) })[9]).toBe(true);
    // While admitting, windows without completions start a run only when requests keep arriving; nothing
    // in flight is no queue.
    const fresh = new AdmissionController(settings);
    const sojourns = [100, ...times<number | undefined>(19, undefined)];
    expect(run(fresh, 20, { busy: 1, sojourn: sojourns, inFlight: 50 }).some((shed) => shed)).toBe(false);
    expect(run(fresh, 11, { busy: 1, sojourn: undefined, inFlight: growing(11, 51, 3) }, 2_000)[10]).toBe(
      true,
    );
    expect(run(controller, 1, { busy: 1, sojourn: undefined, inFlight: 0 }, 1_000)).toEqual([false]);
  });

  it('admits again once a window is quick or idle, and sheds again at once while the overload lasts', () => {
    const controller = new AdmissionController(settings);
    run(controller, 10, { busy: 1, sojourn: 900, inFlight: growing(10, 10, 10) });
    expect(controller.shedding).toBe(true);
    // Shedding drained the queue: admit.
    expect(run(controller, 1, { busy: 1, sojourn: 300, inFlight: 30 }, 1_000)).toEqual([false]);
    // Within two intervals of the last shedding the queue comes back: shed at the first window.
    expect(
      run(
        controller,
        4,
        { busy: [1, 1, 0.4, 1], sojourn: [800, 200, 900, 600], inFlight: [60, 40, 50, 70] },
        1_100,
      ),
    ).toEqual([true, false, false, true]);
  });

  it('keeps shedding while the queue stands and the loop is at least half busy; stops when it is idle', () => {
    const controller = new AdmissionController(settings);
    run(controller, 10, { busy: 1, sojourn: 900, inFlight: growing(10, 10, 10) });
    expect(controller.shedding).toBe(true);
    expect(
      run(
        controller,
        4,
        { busy: [0.6, 0.8, 0.46, 0.4], sojourn: [1_500, 1_200, 900, 2_000], inFlight: 50 },
        1_000,
      ),
    ).toEqual([true, true, true, false]);
  });

  it('treats an overload that returns after two quiet intervals as a new burst', () => {
    const controller = new AdmissionController(settings);
    run(controller, 11, { busy: 1, sojourn: [...times(10, 900), 100], inFlight: growing(11, 10, 10) });
    const later = run(
      controller,
      31,
      { busy: 1, sojourn: [...times(21, 100), ...times(10, 900)], inFlight: growing(31, 1, 2) },
      1_100,
    );
    // Stopped at 1 100 ms; the queue is back at 3 200 ms, more than 2 000 ms later: a full interval.
    expect(later.slice(0, 30).some((shed) => shed)).toBe(false);
    expect(later[30]).toBe(true);
  });

  it('a different target, interval and utilisation move the decision', () => {
    const controller = new AdmissionController({ targetMs: 200, intervalMs: 300, busyUtilisation: 0.5 });
    expect(run(controller, 6, { busy: 0.6, sojourn: [150, 150, 150, 250, 250, 250], inFlight: 40 })).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
  });
});

function ask(shedder: OverloadShedder, url: string): Error | undefined {
  let result: Error | undefined;
  shedder.onRequest({ url } as FastifyRequest, {} as FastifyReply, (error) => (result = error));
  return result;
}

describe('OverloadShedder', () => {
  it('sheds data-plane requests with 503 and Retry-After while shedding; never health, metrics, admin or console', () => {
    const figures: AdmissionFigures = { inFlight: 10, takeLeastSojourn: () => undefined };
    // A window far longer than the test: only the windows fed below count.
    const shedder = new OverloadShedder(
      { targetMs: 500, intervalMs: 200, busyUtilisation: 0.9 },
      figures,
      1e9,
    );
    try {
      expect(ask(shedder, '/v1/chat/completions')).toBeUndefined();
      shedder.window(0, 100, 1, 900);
      (figures as { inFlight: number }).inFlight = 30;
      shedder.window(100, 200, 0.95, 900);
      const refused = ask(shedder, '/v1/chat/completions');
      expect(refused).toBeInstanceOf(GatewayException);
      expect((refused as GatewayException).status).toBe(503);
      expect((refused as GatewayException).options.retryAfter).toBe('1');
      expect(ask(shedder, '/v1/embeddings')).toBeInstanceOf(GatewayException);
      for (const url of ['/health/ready', '/admin/v1/keys', '/metrics', '/ui/', '/openapi.json'])
        expect(ask(shedder, url)).toBeUndefined();
      expect(shedder.shed).toBe(2);
      shedder.window(200, 300, 0.3, 900);
      expect(ask(shedder, '/v1/chat/completions')).toBeUndefined();
    } finally {
      shedder.close();
    }
  });
});
