import { endpointLimits, parseTopLevelLimits } from 'src/modules/limits/limit-rules';
import { budgetWindow, formatReset, rateWindow } from 'src/modules/limits/windows';
import { matchModel, DEFAULT_PRICES, nanoUsd } from 'src/modules/limits/pricing/price-catalog';

describe('gatehouse.limits in gateway.yaml', () => {
  it('expands each item into one rule per metric, with stable ids and the endpoint filter', () => {
    const problems: string[] = [];
    const top = parseTopLevelLimits(
      {
        limits: [
          { per: 'team', team: 'research', tokens_per_day: 1_000_000, requests_per_minute: 600 },
          { per: 'global', endpoint: 'b', requests_per_second: 50 },
        ],
      },
      problems,
    );
    const own = endpointLimits(
      top,
      'a',
      { calls: 10, renewal_period: '5 minutes', key: null },
      { limits: [{ per: 'key', concurrent: 4 }], pricing: { input_per_million: 1, output_per_million: 2 } },
      'endpoints[0] (a)',
      problems,
    );
    expect(problems).toEqual([]);
    expect(own.price).toEqual({ inputPerMillion: 1, outputPerMillion: 2 });
    expect(
      own.rules.map((r) => [r.id, r.scope, r.subject, r.endpoint, r.metric, r.windowMs, r.limit]),
    ).toEqual([
      ['yaml:*:0:requests_per_minute', 'team', 'research', null, 'requests', 60_000, 600],
      ['yaml:*:0:tokens_per_day', 'team', 'research', null, 'tokens', 86_400_000, 1_000_000],
      ['mlflow:a', 'principal', null, 'a', 'requests', 300_000, 10],
      ['yaml:a:0:concurrent', 'key', null, 'a', 'concurrency', null, 4],
    ]);
  });

  it('reports every problem with where it is', () => {
    const problems: string[] = [];
    parseTopLevelLimits(
      {
        limits: [
          { per: 'team', requests_per_minute: 0 },
          { per: 'endpoint', concurrent: 2 },
          { per: 'key', team: 'x', requests_per_day: 1 },
        ],
      },
      problems,
    );
    endpointLimits(
      [],
      'a',
      null,
      { limits: 'lots', pricing: { input_per_million: -1, output_per_million: 1 } },
      'endpoints[0] (a)',
      problems,
    );
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^\(top level\): gatehouse.limits\[0\]: requests_per_minute/);
    expect(problems.join('\n')).toMatch(/'concurrent' caps are per key, principal or team/);
    expect(problems.join('\n')).toMatch(/'team' only goes with 'per: team'/);
    expect(problems.join('\n')).toMatch(/endpoints\[0\] \(a\): gatehouse.pricing: input_per_million/);
  });
});

describe('windows and prices', () => {
  it('fixed UTC windows: minute, ISO week from Monday, calendar month', () => {
    const t = Date.parse('2026-11-25T22:53:32.500Z'); // a Wednesday
    expect(rateWindow(60_000, t)).toEqual({
      start: Date.parse('2026-11-25T22:53:00Z'),
      end: Date.parse('2026-11-25T22:54:00Z'),
    });
    expect(budgetWindow('weekly', t)).toEqual({
      start: Date.parse('2026-11-23T00:00:00Z'),
      end: Date.parse('2026-11-30T00:00:00Z'),
    });
    expect(budgetWindow('monthly', t)).toEqual({
      start: Date.parse('2026-11-01T00:00:00Z'),
      end: Date.parse('2026-12-01T00:00:00Z'),
    });
    expect(budgetWindow('daily', t).end).toBe(Date.parse('2026-11-26T00:00:00Z'));
  });

  it('formats resets the way OpenAI does', () => {
    expect([formatReset(20), formatReset(1000), formatReset(360_000), formatReset(3_723_000)]).toEqual([
      '20ms',
      '1s',
      '6m0s',
      '1h2m3s',
    ]);
  });

  it('matches dated model names to the longest catalog name, never a shorter sibling', () => {
    expect(matchModel(DEFAULT_PRICES.openai, 'gpt-4o-mini-2024-07-18')).toEqual({
      inputPerMillion: 0.15,
      outputPerMillion: 0.6,
    });
    expect(matchModel(DEFAULT_PRICES.openai, 'gpt-4o-2024-08-06')).toEqual({
      inputPerMillion: 2.5,
      outputPerMillion: 10,
    });
    expect(matchModel(DEFAULT_PRICES.anthropic, 'claude-sonnet-4-20250514')).toEqual({
      inputPerMillion: 3,
      outputPerMillion: 15,
    });
    expect(matchModel(DEFAULT_PRICES.openai, 'gpt-4oz')).toBeUndefined();
    expect(nanoUsd(1000, 0.15)).toBe(150_000);
  });
});
