import { attemptResult, MetricLabels, statusClass } from 'src/modules/observability/metrics/metric-labels';

describe('MetricLabels', () => {
  const endpoints = new Set(['chat', 'embed']);
  const models = new Set(['churn']);
  const teams: Record<string, string> = { t1: 'search', t2: 'ads', t3: 'ml' };
  const table = {
    get: (name: string) => (endpoints.has(name) ? {} : undefined),
    getPredict: (name: string) => (models.has(name) ? {} : undefined),
  };
  const labels = () =>
    new MetricLabels(
      () => table,
      (id) => teams[id],
      2,
    );

  it('keeps endpoint and target names the route table knows, folds the rest into other', () => {
    const l = labels();
    expect([
      l.endpoint('chat'),
      l.endpoint('churn'),
      l.endpoint('gpt-5-secret'),
      l.endpoint(undefined),
    ]).toEqual(['chat', 'churn', 'other', 'none']);
    expect([l.target('chat'), l.target('chat#backup'), l.target('churn@3'), l.target('nope#x')]).toEqual([
      'chat',
      'chat#backup',
      'churn@3',
      'other',
    ]);
    expect(l.endpoint('x'.repeat(500))).toBe('other');
  });

  it('follows route table swaps', () => {
    const l = labels();
    expect(l.endpoint('new-one')).toBe('other');
    endpoints.add('new-one');
    expect(l.endpoint('new-one')).toBe('new-one');
    endpoints.delete('new-one');
  });

  it('names the first N known teams, then other; unknown ids are other, no team is none', () => {
    const l = labels();
    expect([l.team('t1'), l.team('t2'), l.team('t3'), l.team('t1')]).toEqual([
      'search',
      'ads',
      'other',
      'search',
    ]);
    expect([l.team('deleted'), l.team(null), l.team(undefined)]).toEqual(['other', 'none', 'none']);
  });

  it('classes statuses and attempt results into a fixed set', () => {
    expect([200, 204, 404, 429, 500, 503, 99, undefined].map((s) => statusClass(s))).toEqual([
      '2xx',
      '2xx',
      '4xx',
      '4xx',
      '5xx',
      '5xx',
      'other',
      'other',
    ]);
    expect(statusClass(200, true)).toBe('cancelled');
    expect([
      attemptResult(200, undefined),
      attemptResult(503, 'status'),
      attemptResult(200, 'protocol'),
      attemptResult(undefined, 'timeout'),
      attemptResult(undefined, 'connect'),
      attemptResult(undefined, 'something new'),
    ]).toEqual(['2xx', '5xx', 'protocol', 'timeout', 'connect', 'other']);
  });
});
