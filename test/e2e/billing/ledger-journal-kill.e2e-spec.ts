import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { createTestDatabase, openaiEndpoint, waitFor } from 'test/e2e/support/test-gateway';

const ROOT = resolve(__dirname, '../../..');
const REQUESTS = 60;
const CONCURRENCY = 8;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

interface Gateway {
  child: ChildProcess;
  port: number;
  log: string;
  exited: Promise<NodeJS.Signals | null>;
}

interface Answer {
  tokens: number;
}

/**
 * The ledger's write-ahead journal against the failure it exists for: a real gateway process (the
 * production entry point, on a real PostgreSQL) is SIGKILLed the moment the last of its answers
 * arrives, with every row still in its memory (the flush interval is a minute), and a new process is
 * started on the same DATA_DIR. Every answered request must then have exactly one ledger row, with the
 * tokens its answer reported. The same run with LEDGER_JOURNAL=off shows the rows the kill costs
 * without it.
 */
describe('usage ledger journal across a SIGKILL', () => {
  let mock: OpenAIMock;
  let database: { url: string; drop: () => Promise<void> };
  let dir: string;
  let configPath: string;
  let client: Client;
  const apiKey = `gh_test_${randomBytes(24).toString('hex')}`;
  const running: Gateway[] = [];

  /** `embedded`: no DATABASE_URL, so the process runs PGlite under its DATA_DIR. */
  async function start(dataDir: string, env: Record<string, string>, embedded = false): Promise<Gateway> {
    const port = await freePort();
    const child = spawn(process.execPath, [join(ROOT, 'test/e2e/support/ts-main.mjs'), 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEWAY_CONFIG: configPath,
        GATEWAY_CONFIG_WATCH: 'false',
        ...(embedded ? {} : { DATABASE_URL: database.url }),
        GATEHOUSE_WORKERS: '1',
        DATA_DIR: dataDir,
        GATEHOUSE_ADMIN_API_KEY: apiKey,
        MOCK_OPENAI_KEY: MOCK_API_KEY,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gateway: Gateway = {
      child,
      port,
      log: '',
      exited: new Promise((done) => child.once('exit', (_code, signal) => done(signal))),
    };
    running.push(gateway);
    child.stdout.on('data', (chunk: Buffer) => (gateway.log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (gateway.log += chunk.toString()));
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited at start:\n${gateway.log}`);
      return fetch(`http://127.0.0.1:${port}/health`)
        .then((r) => r.ok)
        .catch(() => false);
    }, 90_000);
    return gateway;
  }

  async function ask(gateway: Gateway, id: string, i: number): Promise<Answer> {
    const stream = i % 3 === 0;
    const words = Array.from({ length: 1 + (i % 11) }, (_, k) => `w${k}`).join(' ');
    const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'x-request-id': id },
      body: JSON.stringify({
        model: 'chat',
        messages: [{ role: 'user', content: `request ${i}: ${words}` }],
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
    });
    expect(response.status).toBe(200);
    type Usage = { prompt_tokens: number; completion_tokens: number };
    if (!stream) {
      const { usage } = (await response.json()) as { usage: Usage };
      return { tokens: usage.prompt_tokens + usage.completion_tokens };
    }
    const text = await response.text();
    expect(text).toContain('data: [DONE]');
    const usage = text
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data) as { usage?: Usage })
      .find((chunk) => chunk.usage)?.usage;
    return { tokens: usage!.prompt_tokens + usage!.completion_tokens };
  }

  /** Sends REQUESTS requests, CONCURRENCY at a time, and SIGKILLs the process as the last answer arrives. */
  async function answerThenKill(gateway: Gateway, prefix: string): Promise<Map<string, Answer>> {
    const answered = new Map<string, Answer>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const i = next++;
          const id = `${prefix}-${i}`;
          answered.set(id, await ask(gateway, id, i));
        }
      }),
    );
    gateway.child.kill('SIGKILL');
    expect(await gateway.exited).toBe('SIGKILL');
    return answered;
  }

  async function rowsOf(ids: string[]): Promise<{ rows: number; requests: number; tokens: number }> {
    const { rows } = await client.query<{ rows: string; requests: string; tokens: string | null }>(
      `SELECT count(*) AS rows, count(DISTINCT request_id) AS requests,
              sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) AS tokens
         FROM usage_records WHERE request_id = ANY($1)`,
      [ids],
    );
    return {
      rows: Number(rows[0].rows),
      requests: Number(rows[0].requests),
      tokens: Number(rows[0].tokens ?? 0),
    };
  }

  beforeAll(async () => {
    mock = await startOpenAIMock();
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-journal-'));
    configPath = join(dir, 'gateway.yaml');
    await writeFile(configPath, `endpoints:\n${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}\n`);
    client = new Client({ connectionString: database.url });
    await client.connect();
  }, 60_000);

  afterAll(async () => {
    for (const gateway of running) {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
    }
    await client?.end();
    await mock?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  // Nothing leaves memory on its own before the kill: no timer flush, no full batch.
  const holdRows = { LEDGER_FLUSH_INTERVAL_MS: '60000', LEDGER_BATCH_SIZE: '5000' };

  it('gives every answered request exactly one row after a SIGKILL and a restart on the same DATA_DIR', async () => {
    const dataDir = join(dir, 'data-journal');
    const first = await start(dataDir, holdRows);
    const answered = await answerThenKill(first, 'kill');
    const ids = [...answered.keys()];
    // The killed process committed nothing: the rows exist only in its journal.
    expect((await rowsOf(ids)).rows).toBe(0);
    expect((await readdir(join(dataDir, 'ledger-journal'))).length).toBeGreaterThan(0);

    const second = await start(dataDir, {});
    const expectedTokens = [...answered.values()].reduce((sum, a) => sum + a.tokens, 0);
    await waitFor(async () => (await rowsOf(ids)).rows >= REQUESTS, 30_000);
    // A few flush intervals more: a second copy of any row would have been written by now.
    await new Promise((done) => setTimeout(done, 1_000));
    expect(await rowsOf(ids)).toEqual({ rows: REQUESTS, requests: REQUESTS, tokens: expectedTokens });
    // The adopted journal was replayed and removed; the new process's own is empty once committed.
    expect(await readdir(join(dataDir, 'ledger-spill'))).toEqual([]);
    second.child.kill('SIGTERM');
    await second.exited;
    expect(await readdir(join(dataDir, 'ledger-journal'))).toEqual([]);
  }, 240_000);

  it('does the same on the embedded database (PGlite under DATA_DIR)', async () => {
    const dataDir = join(dir, 'data-embedded');
    const first = await start(dataDir, holdRows, true);
    const answered = await answerThenKill(first, 'embedded');
    const expectedTokens = [...answered.values()].reduce((sum, a) => sum + a.tokens, 0);
    const second = await start(dataDir, {}, true);
    // This database holds only this test's requests: the report's totals are theirs.
    const totals = async () => {
      const response = await fetch(`http://127.0.0.1:${second.port}/admin/v1/usage`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { totals: { requests: number; totalTokens: number } }).totals;
    };
    await waitFor(async () => (await totals()).requests >= REQUESTS, 30_000);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(await totals()).toMatchObject({ requests: REQUESTS, totalTokens: expectedTokens });
    second.child.kill('SIGTERM');
    await second.exited;
  }, 240_000);

  it('without the journal (LEDGER_JOURNAL=off) the same kill loses the rows still in memory', async () => {
    const dataDir = join(dir, 'data-off');
    const first = await start(dataDir, { ...holdRows, LEDGER_JOURNAL: 'off' });
    const answered = await answerThenKill(first, 'off');
    const ids = [...answered.keys()];
    const second = await start(dataDir, { LEDGER_JOURNAL: 'off' });
    await new Promise((done) => setTimeout(done, 1_500));
    expect((await rowsOf(ids)).rows).toBe(0);
    second.child.kill('SIGTERM');
    await second.exited;
  }, 240_000);
});
