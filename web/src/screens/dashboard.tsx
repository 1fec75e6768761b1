import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, must, SeriesPoint } from '../api';
import { TimeChart } from '../chart';

const RANGES = {
  '1h': { label: 'Last hour', ms: 3_600_000, bucket: 'minute' },
  '24h': { label: 'Last 24 hours', ms: 86_400_000, bucket: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'hour' },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000, bucket: 'day' },
} as const;
type Range = keyof typeof RANGES;

const fmt = new Intl.NumberFormat('en', { maximumFractionDigits: 4 });
// Sub-cent costs are common on a quiet range: significant digits, not decimals.
const usd = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });

export function DashboardScreen() {
  const [range, setRange] = useState<Range>('1h');
  const [endpoint, setEndpoint] = useState('');
  const [points, setPoints] = useState<SeriesPoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const { ms, bucket } = RANGES[range];
    const to = new Date();
    const from = new Date(to.getTime() - ms);
    setError(null);
    api
      .GET('/admin/v1/usage/timeseries', {
        params: {
          query: {
            from: from.toISOString(),
            to: to.toISOString(),
            bucket,
            ...(endpoint ? { endpoint } : {}),
          },
        },
      })
      .then((r) => setPoints(must(r).points))
      .catch((e: unknown) => setError(String(e)));
  }, [range, endpoint, tick]);

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
      {points && (
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
