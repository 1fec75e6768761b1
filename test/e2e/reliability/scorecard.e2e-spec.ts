import { Cluster } from 'test/reliability/cluster';
import { PROFILES } from 'test/reliability/profiles';
import { runScorecard, scorecardTable } from 'test/reliability/scorecard';
import { ScenarioResult } from 'test/reliability/scenarios';

jest.setTimeout(420_000);

/**
 * The reliability scorecard's short profile (test/reliability): a dedicated PostgreSQL and Redis, a
 * fault-injecting upstream and three gateway replicas; each scenario injects one fault and must meet
 * its goal. `npm run reliability -- --profile full` runs the sizes.
 */
describe('reliability scorecard (short profile)', () => {
  const cluster = new Cluster({ profile: PROFILES.short, log: () => undefined });
  let results: ScenarioResult[] = [];

  beforeAll(async () => {
    try {
      results = await runScorecard(cluster);
    } finally {
      await cluster.stop();
    }
    process.stdout.write(`${scorecardTable(results)}\n`);
  }, 400_000);

  const result = (id: string): ScenarioResult => {
    const found = results.find((r) => r.id === id);
    if (!found) throw new Error(`${id} did not run`);
    return found;
  };

  it.each(['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13'])(
    '%s meets its goal',
    (id) => {
      const r = result(id);
      expect({ id, figure: r.figure, pass: r.pass }).toEqual({ id, figure: r.figure, pass: true });
    },
  );

  it('R2 admits exactly the budget room and R3 exactly the limit', () => {
    expect(result('R2').details.admitted).toBe(PROFILES.short.r2Room);
    expect(result('R3').details.admitted).toBe(PROFILES.short.r3Limit);
  });

  it('cleans up: no replica, Redis or PostgreSQL left running', () => {
    expect(cluster.replicas.every((r) => !r.alive())).toBe(true);
  });
});
