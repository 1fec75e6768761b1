import { histBucket, rollupGroups, scaledCost } from 'src/modules/billing/usage-rollup';

describe('usage roll-up in the writer', () => {
  it('scales costs as numeric(20, 10) stores them: the JSON text, rounded half away from zero', () => {
    expect(scaledCost(0.00012)).toBe(1_200_000n);
    expect(scaledCost(0.00015 * 3)).toBe(4_500_000n); // 0.00045000000000000004
    expect(scaledCost(1.5e-7)).toBe(1_500n);
    expect(scaledCost(5e-11)).toBe(1n); // half rounds away from zero
    expect(scaledCost(4.9e-11)).toBe(0n);
    expect(scaledCost(-0.25)).toBe(-2_500_000_000n);
    expect(scaledCost(12)).toBe(120_000_000_000n);
  });

  it('sums a batch per hour, team, endpoint, provider, model, prompt version, outcome and status class', () => {
    const row = (over: Partial<Parameters<typeof rollupGroups>[0][number]>) => ({
      started_at: '2026-12-07T10:59:59.999Z',
      team_id: 't1',
      endpoint: 'chat',
      provider: 'openai',
      model: 'gpt',
      prompt_version: null,
      outcome: 'success',
      status: 200,
      latency_ms: 10,
      prompt_tokens: 3,
      completion_tokens: 4,
      cost_usd: 0.1,
      cache_hit: false,
      ...over,
    });
    const groups = rollupGroups([
      row({}),
      row({ latency_ms: 0.5, cost_usd: 0.2, cache_hit: true }),
      row({ started_at: '2026-12-07T11:00:00.000Z', cost_usd: null, prompt_tokens: null }),
      row({ outcome: 'error', status: 502 }),
      row({ outcome: 'error', status: 0 }),
    ]);
    expect(groups).toHaveLength(4);
    const first = groups.find((g) => g.hour === '2026-12-07T10:00:00.000Z' && g.status_class === 2)!;
    expect(first).toMatchObject({
      requests: 2,
      errors: 0,
      prompt_tokens: 6,
      completion_tokens: 8,
      cache_hits: 1,
    });
    expect(first.cost_usd).toBe('0.3000000000');
    expect(first.latency_sum_ms).toBe(10.5);
    const hist = first.latency_hist.slice(1, -1).split(',').map(Number);
    expect(hist).toHaveLength(146);
    expect(hist[histBucket(0.5)]).toBe(1);
    expect(hist[histBucket(10)]).toBe(1);
    const next = groups.find((g) => g.hour === '2026-12-07T11:00:00.000Z')!;
    expect(next).toMatchObject({ requests: 1, unpriced: 1, prompt_tokens: 0, cost_usd: '0.0000000000' });
    const server = groups.find((g) => g.status_class === 5)!;
    expect(server).toMatchObject({ errors: 1, server_errors: 1, other_errors: 0, client_errors: 0 });
    const other = groups.find((g) => g.status_class === 0)!;
    expect(other).toMatchObject({ errors: 1, other_errors: 1, server_errors: 0 });
  });
});
