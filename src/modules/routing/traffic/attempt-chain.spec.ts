import {
  AttemptChain,
  ChainSpec,
  ChainTarget,
  fallbackChain,
} from 'src/modules/routing/traffic/attempt-chain';
import { Balanced } from 'src/modules/routing/traffic/load-balancer';
import { TrafficClock, TrafficState } from 'src/modules/routing/traffic/traffic-state.service';

/** A target whose calls are answered by a script: 'ok', or an error status. */
interface Target extends ChainTarget<Balanced> {
  name: string;
  down?: boolean;
  fallbacks?: readonly Target[];
}

class Failed extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

function setUp() {
  const clock = new TrafficClock();
  const chain = new AttemptChain(new TrafficState(clock), clock);
  const calls: string[] = [];
  const left: [string, number][] = [];
  const run = (
    targets: Target[],
    answer: (target: Target, instance: Balanced | undefined) => 'ok' | number,
    extra: Partial<ChainSpec<Target, Balanced, string>> = {},
  ) =>
    chain.run<Target, Balanced, string>({
      targets,
      signal: new AbortController().signal,
      stream: false,
      deadlineMs: undefined,
      headersMs: () => undefined,
      classify: (error) => {
        const status = (error as Failed).status;
        if (status === 429) return 'throttled';
        return status >= 500 ? 'failure' : 'fatal';
      },
      retryAfterMs: () => 0,
      deadlineError: () => new Failed(504),
      circuitOpenError: () => new Failed(503),
      exhaustedError: () => new Failed(503),
      unavailable: (target) => (target.down ? new Failed(503) : undefined),
      onLeave: (target, error) => left.push([target.name, (error as Failed).status]),
      attempt: async (target, instance) => {
        calls.push(instance?.key ?? target.name);
        const result = answer(target, instance);
        if (result !== 'ok') throw new Failed(result);
        return `${target.name}:${instance?.key ?? '-'}`;
      },
      ...extra,
    });
  return { run, calls, left };
}

const retry = (attempts: number) => ({
  retry: {
    attempts,
    backoffMs: 0,
    maxBackoffMs: 0,
    retryAfterCapMs: 0,
    budget: { ratio: 1, minRetries: 100, windowMs: 10_000 },
  },
  breaker: undefined,
  deadlineMs: undefined,
});

describe('AttemptChain (shared by LLM and predict endpoints)', () => {
  it('falls back on 5xx and connection failures, never on a 4xx, and says who failed', async () => {
    const { run, calls, left } = setUp();
    const primary: Target = { name: 'v4' };
    const backup: Target = { name: 'v3' };
    await expect(run([primary, backup], (t) => (t === primary ? 503 : 'ok'))).resolves.toBe('v3:-');
    expect(calls).toEqual(['v4', 'v3']);
    expect(left).toEqual([['v4', 503]]);
    calls.length = 0;
    await expect(run([primary, backup], (t) => (t === primary ? 400 : 'ok'))).rejects.toMatchObject({
      status: 400,
    });
    expect(calls).toEqual(['v4']);
  });

  it('moves past an unavailable target (no routable version) as a retryable failure', async () => {
    const { run, calls, left } = setUp();
    await expect(run([{ name: 'v4', down: true }, { name: 'v3' }], () => 'ok')).resolves.toBe('v3:-');
    expect(calls).toEqual(['v3']);
    expect(left).toEqual([['v4', 503]]);
    await expect(run([{ name: 'only', down: true }], () => 'ok')).rejects.toMatchObject({ status: 503 });
  });

  it('retries on another instance first, then ejects an instance after its consecutive failures', async () => {
    const { run, calls } = setUp();
    const target: Target = {
      name: 'v1',
      resilience: retry(3),
      instances: {
        list: [1, 2, 3].map((n) => ({ key: `v1#${n}`, weight: 1 })),
        algorithm: 'round_robin',
        ejection: { consecutiveFailures: 2, baseMs: 60_000, maxMs: 60_000 },
      },
    };
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) {
      answers.push(await run([target], (_t, instance) => (instance?.key === 'v1#2' ? 502 : 'ok')));
    }
    expect(answers.every((a) => a !== 'v1:v1#2')).toBe(true);
    // Two failures in a row eject #2; from then on it gets no call.
    expect(calls.filter((c) => c === 'v1#2')).toHaveLength(2);
    expect(calls.filter((c) => c !== 'v1#2')).toHaveLength(12);
  });

  it('weighted balancing follows the weights within 2.5 points over 6,000 calls (4.5 σ)', async () => {
    const { run, calls } = setUp();
    const target: Target = {
      name: 'w',
      instances: {
        list: [
          { key: 'w#1', weight: 1 },
          { key: 'w#2', weight: 3 },
        ],
        algorithm: 'weighted',
        ejection: { consecutiveFailures: 3, baseMs: 1, maxMs: 1 },
      },
    };
    for (let i = 0; i < 6000; i++) await run([target], () => 'ok');
    const heavy = calls.filter((c) => c === 'w#2').length / 6000;
    expect(Math.abs(heavy - 0.75)).toBeLessThan(0.025);
  });

  it('least_outstanding sends new calls to the instance with fewer calls in flight', async () => {
    const { run, calls } = setUp();
    const target: Target = {
      name: 'lo',
      instances: {
        list: [
          { key: 'lo#1', weight: 1 },
          { key: 'lo#2', weight: 1 },
        ],
        algorithm: 'least_outstanding',
        ejection: { consecutiveFailures: 3, baseMs: 1, maxMs: 1 },
      },
    };
    // lo#1 is slow: while its calls hang, every new call goes to lo#2.
    const hanging: (() => void)[] = [];
    const slow = run([target], () => 'ok', {
      attempt: (_t, instance) => {
        calls.push(instance!.key);
        return new Promise<string>((resolve) => hanging.push(() => resolve(instance!.key)));
      },
    });
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 10; i++) await run([target], () => 'ok');
    hanging.forEach((release) => release());
    await slow;
    const first = calls[0];
    expect(calls.slice(1).every((c) => c !== first)).toBe(true);
    expect(calls).toHaveLength(11);
  });

  it('a 429 is retried on the same target without counting against ejection', async () => {
    const { run, calls } = setUp();
    let n = 0;
    const target: Target = { name: 't', resilience: retry(2) };
    await expect(run([target], () => (n++ === 0 ? 429 : 'ok'))).resolves.toBe('t:-');
    expect(calls).toEqual(['t', 't']);
  });

  it('builds the chain: endpoint, its fallbacks, then the route’s, each once', () => {
    const b: Target = { name: 'b' };
    const c: Target = { name: 'c' };
    const a: Target = { name: 'a', fallbacks: [b] };
    expect(fallbackChain(a, [b, c, a]).map((t) => t.name)).toEqual(['a', 'b', 'c']);
    const self: Target = { name: 's' };
    expect(fallbackChain(self, [self, b]).map((t) => t.name)).toEqual(['s', 'b']);
  });
});
