import { Cluster } from 'test/reliability/cluster';
import { SCENARIOS, ScenarioResult } from 'test/reliability/scenarios';

/** Starts the cluster, runs the chosen scenarios in order (a scenario that throws is a FAIL), returns the results. */
export async function runScorecard(cluster: Cluster, only?: string[]): Promise<ScenarioResult[]> {
  await cluster.start();
  const results: ScenarioResult[] = [];
  for (const [id, scenario] of Object.entries(SCENARIOS)) {
    if (only && !only.includes(id)) continue;
    const started = Date.now();
    cluster.log(`reliability: ${id} …`);
    try {
      results.push(await scenario(cluster));
    } catch (error) {
      results.push({
        id,
        fault: 'scenario error',
        figure: error instanceof Error ? error.message.slice(0, 300) : String(error),
        goal: '-',
        pass: false,
        details: {},
      });
    }
    const last = results[results.length - 1];
    last.details.seconds = Math.round((Date.now() - started) / 100) / 10;
    cluster.log(
      `reliability: ${id} ${last.pass ? 'PASS' : 'FAIL'} ${last.figure} (${last.details.seconds} s)`,
    );
  }
  return results;
}

export function scorecardTable(results: ScenarioResult[]): string {
  const rows = [
    ['#', 'fault', 'figure', 'goal', 'result'],
    ...results.map((r) => [r.id, r.fault, r.figure, r.goal, r.pass ? 'PASS' : 'FAIL']),
  ];
  const widths = rows[0].map((_, c) => Math.min(90, Math.max(...rows.map((row) => row[c].length))));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [
    line(rows[0]),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}
