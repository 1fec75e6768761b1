import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { createTestDatabase, openaiEndpoint, waitFor } from 'test/e2e/support/test-gateway';

const ROOT = resolve(__dirname, '../../..');
/** The issue asks for 10,000; LEDGER_E2E_TOTAL can shrink it for a quick local run. */
const TOTAL = Number(process.env.LEDGER_E2E_TOTAL ?? 10_000);
const CONCURRENCY = 24;
/** Process 1 gets SIGTERM once this many requests have been answered, and is started again. */
const TERMINATE_AT = Math.floor(TOTAL * 0.4);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

interface Replica {
  port: number;
  dataDir: string;
  child?: ChildProcess;
  up: boolean;
  /** Requests this client has open against the process right now. */
  inFlight: number;
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: string;
}

interface Answer {
  promptTokens: number;
  completionTokens: number;
}

/**
 * The acceptance test for the ledger: 10,000 requests over THREE real gateway processes sharing
 * one PostgreSQL, one of them stopped by a real SIGTERM midway and started again. The ledger must then
 * hold exactly one row per request a gateway answered, and its token totals must equal what the mock
 * upstream itself reported.
 */
describe('usage ledger across three gateway processes', () => {
  let mock: OpenAIMock;
  let database: { url: string; drop: () => Promise<void> };
  let dir: string;
  let configPath: string;
  const apiKey = `gh_test_${randomBytes(24).toString('hex')}`;
  const replicas: Replica[] = [];

  function start(replica: Replica): Promise<void> {
    // A real Node process running the gateway's own entry point (src/main.ts, compiled on load by swc).
    const child = spawn(process.execPath, [join(ROOT, 'test/e2e/support/ts-main.mjs'), 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(replica.port),
        HOST: '127.0.0.1',
        GATEWAY_CONFIG: configPath,
        GATEWAY_CONFIG_WATCH: 'false',
        DATABASE_URL: database.url,
        // One process per replica (with DATABASE_URL the default would be a worker per CPU).
        GATEHOUSE_WORKERS: '1',
        DATA_DIR: replica.dataDir,
        GATEHOUSE_ADMIN_API_KEY: apiKey,
        MOCK_OPENAI_KEY: MOCK_API_KEY,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    replica.child = child;
    replica.log = '';
    child.stdout.on('data', (chunk: Buffer) => (replica.log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (replica.log += chunk.toString()));
    replica.exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
    return waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited at start:\n${replica.log}`);
      const ok = await fetch(`http://127.0.0.1:${replica.port}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      replica.up = ok;
      return ok;
    }, 60_000);
  }

  async function stop(replica: Replica): Promise<void> {
    replica.up = false;
    replica.child?.kill('SIGTERM');
    const exit = await replica.exited!;
    // Nest re-raises the signal after its shutdown hooks ran: a clean, complete shutdown.
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
  }

  beforeAll(async () => {
    mock = await startOpenAIMock();
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-ledger3-'));
    configPath = join(dir, 'gateway.yaml');
    await writeFile(configPath, `endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}\n`);
    for (let i = 0; i < 3; i++) {
      replicas.push({
        port: await freePort(),
        dataDir: join(dir, `data-${i}`),
        up: false,
        inFlight: 0,
        log: '',
      });
    }
    // The first start applies the migrations; the others find them applied.
    await start(replicas[0]);
    await Promise.all([start(replicas[1]), start(replicas[2])]);
  }, 240_000);

  afterAll(async () => {
    for (const replica of replicas) {
      if (replica.child && replica.child.exitCode === null && replica.child.signalCode === null) {
        replica.child.kill('SIGKILL');
      }
    }
    await mock?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds exactly one record per answered request, with the upstream token totals', async () => {
    const answered = new Map<string, Answer>();
    let next = 0;
    let retried = 0;
    let inFlightAtSigterm = -1;
    const unexpected: string[] = [];
    let restarting: Promise<void> | undefined;
    const started = Date.now();

    async function attempt(replica: Replica, id: string, i: number): Promise<Answer | undefined> {
      const stream = i % 5 === 0;
      replica.inFlight++;
      const words = Array.from({ length: 1 + (i % 13) }, (_, k) => `w${k}`).join(' ');
      try {
        const response = await fetch(`http://127.0.0.1:${replica.port}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${apiKey}`,
            'x-request-id': id,
          },
          body: JSON.stringify({
            model: 'chat',
            messages: [{ role: 'user', content: `request ${i}: ${words}` }],
            ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
          }),
        });
        // 503 = the server is closing and refused the request before handling it.
        if (response.status === 503) {
          await response.text();
          return undefined;
        }
        if (response.status !== 200) {
          unexpected.push(`${id}: ${response.status} ${await response.text()}`);
          return undefined;
        }
        if (!stream) {
          const body = (await response.json()) as {
            usage: { prompt_tokens: number; completion_tokens: number };
          };
          return { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens };
        }
        const text = await response.text();
        const usage = text
          .split('\n\n')
          .map((event) => event.replace(/^data: /, ''))
          .filter((data) => data.startsWith('{'))
          .map((data) => JSON.parse(data) as { usage?: { prompt_tokens: number; completion_tokens: number } })
          .find((chunk) => chunk.usage)?.usage;
        if (!usage || !text.includes('data: [DONE]')) return undefined;
        return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
      } catch {
        // Connection refused or closed by a terminating process: not answered.
        return undefined;
      } finally {
        replica.inFlight--;
      }
    }

    async function worker(): Promise<void> {
      while (next < TOTAL) {
        const i = next++;
        // Every attempt has its own id: a request the client retries is a different request to the ledger.
        for (let a = 0; ; a++) {
          const replica = replicas[(i + a) % 3];
          if (a > 0 && a % 3 === 0) await new Promise((done) => setTimeout(done, 20));
          if (!replica.up) continue;
          const id = `big-${i}-${a}`;
          const answer = await attempt(replica, id, i);
          if (answer) {
            answered.set(id, answer);
            break;
          }
          retried++;
        }
        if (answered.size % 1000 === 0) {
          process.stderr.write(
            `ledger 3 processes: ${answered.size} answered after ${Date.now() - started} ms\n`,
          );
        }
        if (answered.size === TERMINATE_AT && !restarting) {
          restarting = (async () => {
            inFlightAtSigterm = replicas[1].inFlight;
            await stop(replicas[1]);
            await start(replicas[1]);
          })();
        }
      }
    }

    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    await restarting;
    const loadSeconds = (Date.now() - started) / 1000;
    // Every process drains its ledger buffer on SIGTERM.
    await Promise.all(replicas.map((replica) => stop(replica)));

    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const totals = (
        await client.query<{
          rows: string;
          ids: string;
          requests: string;
          prompt: string;
          completion: string;
        }>(
          `SELECT count(*) AS rows, count(DISTINCT id) AS ids, count(DISTINCT request_id) AS requests,
                  sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion
             FROM usage_records`,
        )
      ).rows[0];
      const outcomes = (
        await client.query<{ outcome: string; n: string }>(
          'SELECT outcome, count(*) AS n FROM usage_records GROUP BY outcome',
        )
      ).rows;
      const ledgerIds = new Set(
        (await client.query<{ request_id: string }>('SELECT request_id FROM usage_records')).rows.map(
          (r) => r.request_id,
        ),
      );
      const sum = (key: keyof Answer) => [...answered.values()].reduce((s, a) => s + a[key], 0);
      const upstream = mock.reported();
      process.stdout.write(
        `ledger 3 processes: ${answered.size} answered, ${inFlightAtSigterm} in flight at SIGTERM, ${retried} retried attempts, ${loadSeconds.toFixed(1)} s ` +
          `(${Math.round(answered.size / loadSeconds)} req/s); ledger ${totals.rows} rows, ` +
          `${totals.prompt}+${totals.completion} tokens; upstream ${upstream.responses} responses, ` +
          `${upstream.promptTokens}+${upstream.completionTokens} tokens\n`,
      );

      expect(unexpected).toEqual([]);
      expect(answered.size).toBe(TOTAL);
      // One row per answered request: none missing, none duplicated, none extra.
      expect(Number(totals.rows)).toBe(answered.size);
      expect(Number(totals.ids)).toBe(answered.size);
      expect(Number(totals.requests)).toBe(answered.size);
      expect([...answered.keys()].filter((id) => !ledgerIds.has(id))).toEqual([]);
      expect(outcomes).toEqual([{ outcome: 'success', n: String(answered.size) }]);
      // Token totals: the ledger, what the client saw, and what the upstream reported all agree.
      expect(Number(totals.prompt)).toBe(sum('promptTokens'));
      expect(Number(totals.completion)).toBe(sum('completionTokens'));
      expect(upstream.responses).toBe(answered.size);
      expect(Number(totals.prompt)).toBe(upstream.promptTokens);
      expect(Number(totals.completion)).toBe(upstream.completionTokens);
    } finally {
      await client.end();
    }
    for (const replica of replicas)
      expect(replica.log).not.toMatch(/usage (ledger write failed|record .* dropped)/);
    // Measured: 307 s at 33 req/s on a 2-core machine at load average 14 (shared by six test runs).
  }, 900_000);
});
