import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, must, SeriesPoint } from '../api';
import { ChartSeries, TimeChart } from '../chart';

const RANGES = {
  '1h': { label: 'Last hour', ms: 3_600_000, bucket: 'minute' },
  '24h': { label: 'Last 24 hours', ms: 86_400_000, bucket: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'hour' },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000, bucket: 'day' },
} as const;
type Range = keyof typeof RANGES;

const BREAKDOWNS = {
  '': 'nothing (all traffic)',
  endpoint: 'endpoint',
  team: 'team',
  model: 'model',
  provider: 'provider',
  prompt: 'prompt version',
} as const;
type Breakdown = keyof typeof BREAKDOWNS;

/** One colour per group series (distinguishable, and dark enough on white). */
const PALETTE = ['#1f5fbf', '#b35c00', '#1f7a3f', '#7a1f6b', '#b00020', '#00727a', '#5a4bb0', '#666'];

interface GroupSeries {
  key: string | null;
  label: string;
  other: boolean;
  requests: number;
  points: SeriesPoint[];
}

/** A chart per figure, a series per group: each figure's values read from the group's points. */
const FIGURES: [string, string, string, (p: SeriesPoint) => number | null][] = [
  ['requests', 'Requests', 'requests', (p) => p.requests],
  ['client-errors', 'Client errors (4xx)', 'requests', (p) => p.clientErrors],
  ['server-errors', 'Server errors (5xx)', 'requests', (p) => p.serverErrors],
  ['p50', 'Latency p50', 'ms', (p) => p.p50LatencyMs],
  ['p95', 'Latency p95', 'ms', (p) => p.p95LatencyMs],
  ['tokens', 'Tokens', 'tokens', (p) => p.totalTokens],
  ['cost', 'Cost', 'USD', (p) => p.costUsd],
];

const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 4 });
// Sub-cent costs are common on a quiet range: significant digits, not decimals.
const usd = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });

export function DashboardScreen() {
  const [range, setRange] = useState<Range>('1h');
  const [endpoint, setEndpoint] = useState('');
  const [groupBy, setGroupBy] = useState<Breakdown>('');
  const [points, setPoints] = useState<SeriesPoint[] | null>(null);
  const [groups, setGroups] = useState<GroupSeries[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const { ms, bucket } = RANGES[range];
    const to = new Date();
    const from = new Date(to.getTime() - ms);
    setError(null);
    // The previous breakdown's rows must not show under the new one's caption while it loads.
    setGroups(null);
    api
      .GET('/admin/v1/usage/timeseries', {
        params: {
          query: {
            from: from.toISOString(),
            to: to.toISOString(),
            bucket,
            ...(endpoint ? { endpoint } : {}),
            ...(groupBy ? { groupBy } : {}),
          },
        },
      })
      .then((r) => {
        const body = must(r);
        setPoints(body.points);
        setGroups(groupBy ? (body.series ?? []) : null);
      })
      .catch((e: unknown) => setError(String(e)));
  }, [range, endpoint, groupBy, tick]);

  const perGroup = useMemo(() => {
    if (!groups) return null;
    return FIGURES.map(([id, title, unit, value]) => ({
      id,
      title,
      unit,
      series: groups.map((g, i): ChartSeries => ({
        label: g.label,
        values: g.points.map(value),
        color: PALETTE[i % PALETTE.length],
      })),
    }));
  }, [groups]);

  const data = useMemo(() => {
    const p = points ?? [];
    return {
      times: p.map((x) => x.bucket),
      traffic: [
        { label: 'Requests', values: p.map((x) => x.requests), color: '#1f5fbf' },
        { label: 'Client errors (4xx)', values: p.map((x) => x.clientErrors), color: '#b35c00' },
        { label: 'Server errors (5xx)', values: p.map((x) => x.serverErrors), color: '#b00020' },
      ],
      latency: [
        { label: 'p50', values: p.map((x) => x.p50LatencyMs), color: '#1f7a3f' },
        { label: 'p95', values: p.map((x) => x.p95LatencyMs), color: '#7a1f6b' },
      ],
      tokens: [{ label: 'Tokens', values: p.map((x) => x.totalTokens), color: '#444' }],
      cost: [{ label: 'Cost (USD)', values: p.map((x) => x.costUsd), color: '#8a6d00' }],
      totals: {
        requests: p.reduce((a, x) => a + x.requests, 0),
        errors: p.reduce((a, x) => a + x.errors, 0),
        tokens: p.reduce((a, x) => a + x.totalTokens, 0),
        cost: p.reduce((a, x) => a + x.costUsd, 0),
      },
    };
  }, [points]);

  return (
    <section>
      <h1>Dashboard</h1>
      <form class="toolbar" onSubmit={(e) => e.preventDefault()}>
        <label for="range">Time range</label>
        <select id="range" value={range} onChange={(e) => setRange(e.currentTarget.value as Range)}>
          {Object.entries(RANGES).map(([k, v]) => (
            <option key={k} value={k}>
              {v.label}
            </option>
          ))}
        </select>
        <label for="endpoint-filter">Endpoint</label>
        <input
          id="endpoint-filter"
          placeholder="all"
          value={endpoint}
          onChange={(e) => setEndpoint(e.currentTarget.value.trim())}
        />
        <label for="group-by">Break down by</label>
        <select
          id="group-by"
          value={groupBy}
          onChange={(e) => setGroupBy(e.currentTarget.value as Breakdown)}
        >
          {Object.entries(BREAKDOWNS).map(([k, v]) => (
            <option key={k} value={k}>
              {v}
            </option>
          ))}
        </select>
        <button type="button" class="secondary" onClick={() => setTick(tick + 1)}>
          Refresh
        </button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <dl class="cards" data-testid="totals">
        <div>
          <dt>Requests</dt>
          <dd data-testid="total-requests">{fmt.format(data.totals.requests)}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="total-errors">{fmt.format(data.totals.errors)}</dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd data-testid="total-tokens">{fmt.format(data.totals.tokens)}</dd>
        </div>
        <div>
          <dt>Cost (USD)</dt>
          <dd data-testid="total-cost">{usd.format(data.totals.cost)}</dd>
        </div>
      </dl>
      {groups && perGroup && (
        <>
          <table data-testid="breakdown">
            <caption>Per {BREAKDOWNS[groupBy]}</caption>
            <thead>
              <tr>
                <th scope="col">{BREAKDOWNS[groupBy]}</th>
                <th scope="col">Requests</th>
                <th scope="col">4xx</th>
                <th scope="col">5xx</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost (USD)</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={`${g.other}-${g.key ?? ''}`} data-testid="breakdown-row">
                  <th scope="row">{g.label}</th>
                  <td>{fmt.format(g.requests)}</td>
                  <td>{fmt.format(g.points.reduce((a, x) => a + x.clientErrors, 0))}</td>
                  <td>{fmt.format(g.points.reduce((a, x) => a + x.serverErrors, 0))}</td>
                  <td>{fmt.format(g.points.reduce((a, x) => a + x.totalTokens, 0))}</td>
                  <td>{usd.format(g.points.reduce((a, x) => a + x.costUsd, 0))}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="charts">
            {perGroup.map((f) => (
              <TimeChart
                key={f.id}
                id={`group-${f.id}`}
                title={`${f.title} per ${BREAKDOWNS[groupBy]}`}
                unit={f.unit}
                times={data.times}
                series={f.series}
              />
            ))}
          </div>
        </>
      )}
      {points && !groups && (
        <div class="charts">
          <TimeChart
            id="traffic"
            title="Requests and errors"
            unit="requests"
            times={data.times}
            series={data.traffic}
          />
          <TimeChart
            id="latency"
            title="Latency p50 / p95"
            unit="ms"
            times={data.times}
            series={data.latency}
          />
          <TimeChart id="tokens" title="Tokens" unit="tokens" times={data.times} series={data.tokens} />
          <TimeChart id="cost" title="Cost" unit="USD" times={data.times} series={data.cost} />
        </div>
      )}
    </section>
  );
}
