import { InvocationRecord } from 'src/common/observability/invocation';
import { Rollout, RolloutRepository, StatsRow } from 'src/modules/rollouts/rollout.repository';
import { RolloutStatsCollector } from 'src/modules/rollouts/rollout-stats.collector';

/** What the leader will judge: the counts the collector writes, per endpoint. */
function setUp() {
  const saved: StatsRow[] = [];
  const repository = {
    saveStats: async (_replica: string, rows: readonly StatsRow[]) => {
      saved.push(...rows);
    },
  } as unknown as RolloutRepository;
  const collector = new RolloutStatsCollector(repository);
  const started = Date.now() - 1000;
  collector.watch([
    {
      id: 'r-1',
      route: 'churn',
      baseline: 'churn-v3',
      canary: 'churn-v4',
      stepIndex: 0,
      stepStartedAt: new Date(started),
    } as Rollout,
  ]);
  const record = (fields: Partial<InvocationRecord>): InvocationRecord => ({
    requestId: 'x',
    startedAt: started + 10,
    startedHr: 0,
    surface: 'predict',
    stream: false,
    attempts: 1,
    cacheHit: false,
    route: 'churn',
    outcome: 'success',
    status: 200,
    latencyMs: 5,
    ...fields,
  });
  const counts = async () => {
    await collector.flush();
    return Object.fromEntries(
      saved.map((r) => [r.endpoint, { requests: r.stats.requests, errors: r.stats.errors }]),
    );
  };
  return { collector, record, counts };
}

describe('RolloutStatsCollector', () => {
  it('counts a canary failure that a fallback answered as the canary’s error', async () => {
    const { collector, record, counts } = setUp();
    collector.onInvocation(record({ endpoint: 'churn-v4' }));
    // v4 failed (502), the route's fallback v3 answered the caller with 200.
    collector.onInvocation(
      record({ endpoint: 'churn-v4', answeredBy: 'churn-v3', endpointStatus: 502, attempts: 2 }),
    );
    collector.onInvocation(record({ endpoint: 'churn-v3' }));
    expect(await counts()).toEqual({
      'churn-v4': { requests: 2, errors: 1 },
      'churn-v3': { requests: 1, errors: 0 },
    });
  });

  it('counts a canary with no routable version (no attempt made) as an error; a caller’s 4xx is no error', async () => {
    const { collector, record, counts } = setUp();
    collector.onInvocation(
      record({ endpoint: 'churn-v4', attempts: 0, status: 503, outcome: 'error', endpointStatus: 503 }),
    );
    collector.onInvocation(record({ endpoint: 'churn-v4', attempts: 0, cacheHit: true }));
    collector.onInvocation(record({ endpoint: 'churn-v4', status: 400, outcome: 'error' }));
    // A refusal before routing (e.g. a rate limit) has no attempt and no endpoint status: not counted.
    collector.onInvocation(record({ endpoint: 'churn-v4', attempts: 0, status: 429, outcome: 'error' }));
    expect(await counts()).toEqual({ 'churn-v4': { requests: 2, errors: 1 } });
  });
});
