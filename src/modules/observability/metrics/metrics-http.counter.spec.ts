import { EventEmitter } from 'node:events';
import { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsHttpCounter } from 'src/modules/observability/metrics/metrics-http.counter';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';

describe('MetricsHttpCounter (what admission control reads)', () => {
  const metrics = { httpStarted: jest.fn(), httpFinished: jest.fn() } as unknown as MetricsService;
  let clock = 0;
  beforeEach(() => {
    clock = 1_000;
    jest.spyOn(performance, 'now').mockImplementation(() => clock);
  });
  afterEach(() => jest.restoreAllMocks());

  /** Starts a request on `url`; returns a function that closes it with `status` after `ms`. */
  function start(counter: MetricsHttpCounter, url: string, streamedMs?: number) {
    const raw = Object.assign(new EventEmitter(), { statusCode: 200, writableFinished: true });
    const request = {
      routeOptions: { url },
      invocation: streamedMs === undefined ? undefined : { record: { streamedMs } },
    } as unknown as FastifyRequest;
    counter.onRequest(request, { raw } as unknown as FastifyReply, () => undefined);
    return (status: number, ms: number) => {
      clock += ms;
      raw.statusCode = status;
      raw.emit('close');
      clock -= ms;
    };
  }

  it('keeps the least time of the completed requests per window, without 503s and without streamed time', () => {
    const counter = new MetricsHttpCounter(metrics);
    counter.measureSojourn = true;
    const closes = [
      start(counter, '/v1/chat/completions'),
      start(counter, '/v1/chat/completions'),
      start(counter, '/v1/chat/completions', 2_900),
      start(counter, '/v1/chat/completions'),
    ];
    expect(counter.inFlight).toBe(4);
    closes[0](200, 700);
    closes[1](503, 5); // shed: no sample
    closes[2](200, 3_000); // a stream: 100 ms in the gateway, 2 900 ms relaying the upstream's chunks
    expect(counter.inFlight).toBe(1);
    expect(counter.takeLeastSojourn()).toBe(100);
    // A new window: nothing completed yet.
    expect(counter.takeLeastSojourn()).toBeUndefined();
    closes[3](429, 250);
    expect(counter.takeLeastSojourn()).toBe(250);
  });

  it('reads no clock and keeps no sojourn when admission control is off; health and scrapes are not counted', () => {
    const counter = new MetricsHttpCounter(metrics);
    start(counter, '/v1/chat/completions')(200, 700);
    start(counter, '/health/ready');
    start(counter, '/metrics');
    expect(counter.inFlight).toBe(0);
    expect(counter.takeLeastSojourn()).toBeUndefined();
    expect(performance.now).not.toHaveBeenCalled();
  });
});
