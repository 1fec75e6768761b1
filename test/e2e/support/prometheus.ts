import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Names from `# TYPE` lines (a metric with no series yet still has one). */
  types: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text format (what prom-client writes). */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** Sum of the samples of `name` whose labels include `filter`. */
export function total(exposition: Exposition, name: string, filter: Record<string, string> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Every name a query may use: sample names, and for histograms/summaries their _bucket/_sum/_count. */
export function metricNames(exposition: Exposition): Set<string> {
  const names = new Set(exposition.samples.map((s) => s.name));
  for (const [name, type] of exposition.types) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

function run(file: string, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = execFile(file, args, { cwd: REPO_ROOT, timeout: 240_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, out: `${stdout}${stderr}` });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

let promtoolReady: Promise<void> | undefined;

/** scripts/setup-system.sh installs Debian's `prometheus` package (promtool) when it is missing. */
export function ensurePromtool(): Promise<void> {
  promtoolReady ??= run('bash', ['scripts/setup-system.sh']).then(({ code, out }) => {
    if (code !== 0) {
      promtoolReady = undefined;
      throw new Error(`scripts/setup-system.sh failed:\n${out}`);
    }
  });
  return promtoolReady;
}

/** `promtool check metrics` (reads the exposition on stdin); `promtool check config <file>`. */
export async function promtool(args: string[], input?: string): Promise<{ code: number; out: string }> {
  await ensurePromtool();
  return run('promtool', args, input);
}

const PROMQL_WORDS = new Set([
  // aggregations, functions and keywords a dashboard may use
  ...['sum', 'avg', 'min', 'max', 'count', 'topk', 'bottomk', 'quantile', 'stddev', 'group'],
  ...['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'clamp_min'],
  ...['clamp_max', 'abs', 'round', 'ceil', 'floor', 'time', 'vector', 'scalar', 'absent', 'sort_desc'],
  ...['avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'last_over_time', 'label_replace'],
  ...[
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'and',
    'or',
    'unless',
    'offset',
    'bool',
  ],
  'inf',
  'nan',
]);

/** Metric names a PromQL expression selects (labels, ranges, strings, grouping and functions removed). */
export function metricsInPromQL(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ' ')
    // numbers and durations: 0.95, 1e-9, 1d (after `offset`)
    .replace(/\b\d+(\.\d+)?([eE][-+]?\d+)?(ms|[smhdwy])?\b/g, ' ');
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return names.filter((n) => !PROMQL_WORDS.has(n.toLowerCase()));
}
