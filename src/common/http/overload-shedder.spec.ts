import { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { AdmissionController, OverloadShedder } from 'src/common/http/overload-shedder';

/**
 * Feeds 100 ms windows from `start` with the given least delays and requests in flight (a number for
 * all windows, or one per window); returns each window's decision.
 */
function run(
  controller: AdmissionController,
  delays: number[],
  inFlight: number | number[],
  start = 0,
): boolean[] {
  return delays.map((delay, i) =>
    controller.update(
      start + i * 100,
      start + (i + 1) * 100,
      delay,
      typeof inFlight === 'number' ? inFlight : inFlight[i],
    ),
  );
}
const times = (n: number, value: number) => Array.from({ length: n }, () => value);
const growing = (n: number, from: number, step: number) =>
  Array.from({ length: n }, (_, i) => from + i * step);

describe('AdmissionController', () => {
  const settings = { targetMs: 50, intervalMs: 1_000 };

  it('admits a burst whose delay stays above the target for less than the interval', () => {
    const controller = new AdmissionController(settings);
    // 900 ms of a busy loop (every window's least delay 80-400 ms) with 60 requests in flight.
    const decisions = run(controller, [...times(3, 400), ...times(6, 80), ...times(20, 3)], 60);
    expect(decisions.every((shed) => !shed)).toBe(true);
  });

  it('admits a burst that keeps the loop busy for many intervals while it drains', () => {
    const controller = new AdmissionController(settings);
    // 200 requests arrive in the first window, then only leave (a few per window) for 5 s.
    const inFlight = [200, ...growing(49, 198, -4)];
    const decisions = run(controller, times(50, 300), inFlight);
    expect(decisions.some((shed) => shed)).toBe(false);
  });

  it('sheds once the delay has stayed above the target for the interval while requests keep arriving', () => {
    const controller = new AdmissionController(settings);
    const decisions = run(controller, times(12, 120), growing(12, 10, 5));
    // Windows end at 100, 200, … ms; the run above the target began at 0, so the 10th (ends at 1 000 ms)
    // is the first to shed.
    expect(decisions.indexOf(true)).toBe(9);
    expect(decisions.slice(9)).toEqual([true, true, true]);
  });

  it('sheds a standing queue whose requests in flight hold steady (the client cannot send more)', () => {
    const controller = new AdmissionController(settings);
    expect(run(controller, times(10, 500), 256)[9]).toBe(true);
  });

  it('needs the interval without a break: one window at the target restarts the count', () => {
    const controller = new AdmissionController(settings);
    const decisions = run(controller, [...times(9, 200), 50, ...times(9, 200)], growing(19, 0, 3));
    expect(decisions.some((shed) => shed)).toBe(false);
    expect(run(controller, [200], 100, 1_900)).toEqual([true]);
  });

  it('admits again after a window at or below the target, and sheds again at once while the overload lasts', () => {
    const controller = new AdmissionController(settings);
    run(controller, times(10, 300), growing(10, 0, 10));
    expect(controller.shedding).toBe(true);
    // Shedding drained the loop: admit.
    expect(run(controller, [20], 30, 1_000)).toEqual([false]);
    // Within two intervals of the last shedding the queue comes back: shed at the first window.
    expect(run(controller, [90, 30, 70], [60, 40, 70], 1_100)).toEqual([true, false, true]);
  });

  it('treats an overload that returns after two quiet intervals as a new burst', () => {
    const controller = new AdmissionController(settings);
    run(controller, [...times(10, 300), 10], growing(11, 0, 10));
    const later = run(controller, [...times(21, 10), ...times(10, 300)], growing(31, 0, 2), 1_100);
    // Stopped at 1 100 ms; the delay rises again at 3 200 ms, more than 2 000 ms later: a full interval.
    expect(later.slice(0, 30).some((shed) => shed)).toBe(false);
    expect(later[30]).toBe(true);
  });

  it('a different target and interval move the decision', () => {
    const controller = new AdmissionController({ targetMs: 200, intervalMs: 300 });
    expect(run(controller, [...times(3, 150), ...times(3, 250)], 40)).toEqual([
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
    let inFlight = 10;
    // A window far longer than the test: only the windows fed below count.
    const shedder = new OverloadShedder({ targetMs: 50, intervalMs: 200 }, () => inFlight, 1e9);
    try {
      expect(ask(shedder, '/v1/chat/completions')).toBeUndefined();
      shedder.window(0, 100, 300);
      inFlight = 30;
      shedder.window(100, 200, 300);
      const refused = ask(shedder, '/v1/chat/completions');
      expect(refused).toBeInstanceOf(GatewayException);
      expect((refused as GatewayException).status).toBe(503);
      expect((refused as GatewayException).options.retryAfter).toBe('1');
      expect(ask(shedder, '/v1/embeddings')).toBeInstanceOf(GatewayException);
      for (const url of ['/health/ready', '/admin/v1/keys', '/metrics', '/ui/', '/openapi.json'])
        expect(ask(shedder, url)).toBeUndefined();
      expect(shedder.shed).toBe(2);
      shedder.window(200, 300, 5);
      expect(ask(shedder, '/v1/chat/completions')).toBeUndefined();
    } finally {
      shedder.close();
    }
  });
});
