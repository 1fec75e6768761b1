/**
 * Gatehouse reliability harness (`npm run reliability [-- --profile short|full] [-- --only R2,R5]`).
 * Starts a dedicated PostgreSQL cluster, a redis-server, a fault-injecting upstream, an OTLP receiver and
 * three gateway replicas, runs the scenarios R1–R13 one after another (one fault each), prints the
 * scorecard and writes it as JSON (RELIABILITY_OUT, default test/reliability/results/latest.json).
 * Exit code 1 when a scenario misses its goal. See docs/reliability.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Cluster } from 'test/reliability/cluster';
import { PROFILES, Profile } from 'test/reliability/profiles';
import { runScorecard, scorecardTable } from 'test/reliability/scorecard';

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  return args[at].includes('=') ? args[at].split('=')[1] : args[at + 1];
}

async function main(): Promise<void> {
  const name = (argument('profile') ?? 'short') as Profile['name'];
  if (!(name in PROFILES)) throw new Error(`--profile: unknown profile '${name}' (short or full)`);
  // --set key=value,key=value overrides a profile's numbers (e.g. --set r7Clients=20), for a quick look.
  const profile: Profile = { ...PROFILES[name] };
  for (const pair of argument('set')?.split(',') ?? []) {
    const [key, value] = pair.split('=');
    if (!(key in profile) || key === 'name' || !Number.isFinite(Number(value)))
      throw new Error(`--set: bad '${pair}'`);
    (profile as unknown as Record<string, number>)[key] = Number(value);
  }
  const only = argument('only')
    ?.split(',')
    .map((s) => s.trim().toUpperCase());
  const cluster = new Cluster({ profile });
  const stop = () => {
    void cluster.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = Date.now();
  let results;
  try {
    results = await runScorecard(cluster, only);
  } finally {
    await cluster.stop();
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`\n${scorecardTable(results)}\nprofile ${name}, ${seconds} s\n`);
  const out = resolve(process.env.RELIABILITY_OUT ?? 'test/reliability/results/latest.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    out,
    JSON.stringify({ profile: name, date: new Date().toISOString(), seconds, results }, null, 2),
  );
  process.exitCode = results.every((r) => r.pass) ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `reliability: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 2;
});
