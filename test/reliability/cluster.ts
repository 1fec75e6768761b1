import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { OtlpReceiver, startOtlpReceiver } from 'test/e2e/support/otlp-receiver';
import { FaultUpstream, startFaultUpstream } from 'test/reliability/fault-upstream';
import { Profile } from 'test/reliability/profiles';
import { freePort, Postgres, RedisServer, sleep, startPostgres, startRedis } from 'test/reliability/services';

const ROOT = resolve(__dirname, '../..');

/**
 * A canary: one random token inside every secret the run configures (provider key, admin key, database
 * and Redis passwords, metrics token, OTLP headers, MLflow token and webhook secret, a stored secret). R12
 * counts where the token (or the master key, which must be base64) shows up in what the gateway emits.
 */
export class Canary {
  readonly token = `cnry${randomBytes(8).toString('hex')}`;
  readonly masterKey = randomBytes(32).toString('base64');
  readonly hits: { source: string; excerpt: string }[] = [];
  scanned = 0;

  scan(source: string, text: string): void {
    this.scanned += text.length;
    for (const needle of [this.token, this.masterKey]) {
      let at = text.indexOf(needle);
      while (at >= 0 && this.hits.length < 1000) {
        this.hits.push({ source, excerpt: text.slice(Math.max(0, at - 80), at + 80) });
        at = text.indexOf(needle, at + 1);
      }
    }
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  ms: number;
  replica: number;
  /** A transport error (no HTTP answer), e.g. a reset connection or a timeout. */
  error?: string;
}

export interface SendOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** A raw body (fuzzing); `body` is JSON-encoded otherwise. */
  raw?: string;
  replica?: number;
  timeoutMs?: number;
}

export class Replica {
  child: ChildProcess | undefined;
  up = false;
  readonly logs: string[] = [];
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly index: number,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [join(ROOT, 'test/e2e/support/ts-main.mjs'), 'src/main.ts'], {
      cwd: ROOT,
      env: { ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let out = '';
    this.logs.push('');
    const slot = this.logs.length - 1;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (out.length < 100_000) out += text;
      this.logs[slot] += text;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.logs[slot] += chunk.toString('utf8');
    });
    this.exited = new Promise((done) => child.once('exit', () => done()));
    child.once('exit', () => {
      this.up = false;
    });
    const deadline = Date.now() + 120_000;
    while (!/listening on http:/.test(out)) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`replica ${this.index} did not start:\n${this.logs[slot].slice(-4000)}`);
      }
      await sleep(100);
    }
    this.up = true;
  }

  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and waits for the exit (bounded). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<number> {
    const started = Date.now();
    if (!this.alive()) return 0;
    this.up = false;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return Date.now() - started;
  }
}

export interface ClusterOptions {
  profile: Profile;
  log?: (line: string) => void;
}

/** Everything a reliability run starts, and the client that talks to it. */
export class Cluster {
  readonly canary = new Canary();
  readonly replicas: Replica[] = [];
  dir = '';
  pg!: Postgres;
  redis!: RedisServer;
  upstream!: FaultUpstream;
  otlp!: OtlpReceiver;
  adminKey = '';
  userKey = '';
  private rr = 0;
  private readonly agent = new Agent({ connections: 256, keepAliveTimeout: 2_000, pipelining: 1 });
  readonly log: (line: string) => void;

  constructor(readonly options: ClusterOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  get profile(): Profile {
    return this.options.profile;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'gatehouse-reliability-'));
    // Traversable, so PostgreSQL (run as `postgres` under root) reaches its own subdirectory.
    await chmod(this.dir, 0o711);
    const { token } = this.canary;
    this.log(`reliability: temp dir ${this.dir}`);
    [this.pg, this.redis, this.upstream, this.otlp] = await Promise.all([
      startPostgres(join(this.dir, 'pg'), `${token}pg`),
      startRedis(join(this.dir, 'redis'), `${token}redis`),
      startFaultUpstream(this.profile.seed),
      startOtlpReceiver(),
    ]);
    this.log(
      `reliability: postgres :${this.pg.port}, redis :${this.redis.port}, upstream ${this.upstream.url}`,
    );
    this.adminKey = `gh_admin_${token}`;
    const configPath = join(this.dir, 'gateway.yaml');
    await writeFile(configPath, gatewayYaml(this.upstream.url, this.profile));
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      GATEWAY_CONFIG: configPath,
      GATEWAY_CONFIG_WATCH: 'false',
      UPSTREAM_ALLOWED_HOSTS: '127.0.0.1',
      GATEHOUSE_ADMIN_API_KEY: this.adminKey,
      GATEHOUSE_MASTER_KEY: this.canary.masterKey,
      MOCK_OPENAI_KEY: `sk-${token}-provider`,
      DATABASE_URL: this.pg.url,
      REDIS_URL: this.redis.url,
      REDIS_KEY_PREFIX: 'rel:',
      METRICS_TOKEN: `${token}-metrics`,
      MLFLOW_TRACKING_TOKEN: `${token}-mlflow`,
      MLFLOW_WEBHOOK_SECRET: `${token}-webhook`,
      OTEL_EXPORTER_OTLP_ENDPOINT: this.otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${token}-otlp`,
      OTEL_BSP_SCHEDULE_DELAY: '500',
      LEDGER_RETRY_MAX_MS: '1000',
      LIMITS_FALLBACK_DIVISOR: '3',
      LIMITS_REDIS_RETRY_MS: '1000',
      // Admission control (R8) runs with the gateway's defaults unless the harness's environment sets it.
      ...Object.fromEntries(
        ['ADMISSION_TARGET_DELAY_MS', 'ADMISSION_INTERVAL_MS']
          .filter((key) => process.env[key] !== undefined)
          .map((key) => [key, process.env[key] as string]),
      ),
    };
    for (let i = 0; i < 3; i++) {
      const dataDir = join(this.dir, `replica-${i}`);
      await mkdir(dataDir, { recursive: true });
      this.replicas.push(new Replica(i, await freePort(), { ...base, DATA_DIR: dataDir }));
    }
    // The first replica applies the migrations; the other two find them applied.
    await this.replicas[0].start();
    await Promise.all(this.replicas.slice(1).map((r) => r.start()));
    this.log(`reliability: 3 replicas up on ${this.replicas.map((r) => r.port).join(', ')}`);
    await this.provision();
  }

  /** A team, a developer and the developer's key: the caller of the load scenarios. */
  private async provision(): Promise<void> {
    const admin = { authorization: `Bearer ${this.adminKey}` };
    const team = await this.admin('POST', '/admin/v1/teams', { name: 'reliability' });
    const teamId = (JSON.parse(team.text) as { id: string }).id;
    const principal = await this.admin('POST', '/admin/v1/principals', {
      kind: 'user',
      name: 'load',
      teamId,
      roles: ['developer'],
    });
    const principalId = (JSON.parse(principal.text) as { id: string }).id;
    await this.admin('POST', '/admin/v1/grants', { teamId, endpointPattern: '*' });
    const key = await this.send({
      method: 'POST',
      path: '/admin/v1/keys',
      headers: admin,
      body: { name: 'load', principalId },
    });
    if (key.status !== 201) throw new Error(`key: ${key.status} ${key.text}`);
    this.userKey = (JSON.parse(key.text) as { key: string }).key;
    // A stored secret holding the canary, used by an API-made endpoint whose upstream echoes it.
    const secret = await this.admin('PUT', '/admin/v1/secrets/rel-stored', {
      value: `sk-${this.canary.token}-stored`,
    });
    if (secret.status >= 300) throw new Error(`secret: ${secret.status} ${secret.text}`);
    const endpoint = await this.admin('POST', '/admin/v1/endpoints', {
      name: 'echo-stored',
      endpoint_type: 'llm/v1/chat',
      model: {
        provider: 'openai',
        name: 'gpt-4o-mini',
        config: { openai_api_key: '$secret:rel-stored', openai_api_base: `${this.upstream.url}/f/echo/v1` },
      },
    });
    if (endpoint.status !== 201) throw new Error(`endpoint: ${endpoint.status} ${endpoint.text}`);
  }

  async admin(method: string, path: string, body?: unknown): Promise<Reply> {
    const reply = await this.send({
      method,
      path,
      body,
      headers: { authorization: `Bearer ${this.adminKey}` },
    });
    if (reply.status >= 500) throw new Error(`${method} ${path}: ${reply.status} ${reply.text}`);
    return reply;
  }

  get userAuth(): Record<string, string> {
    return { authorization: `Bearer ${this.userKey}` };
  }

  /** The next live replica, round robin (client-side rotation, as a small load balancer would). */
  pick(): Replica | undefined {
    for (let i = 0; i < this.replicas.length; i++) {
      const replica = this.replicas[this.rr++ % this.replicas.length];
      if (replica.up) return replica;
    }
    return undefined;
  }

  /**
   * One request through the rotation. A refused connection (the request never left) moves on to the
   * next replica, as a load balancer does; anything else is the answer. Every answer is searched for
   * the canary.
   */
  async send(options: SendOptions & { scan?: boolean }): Promise<Reply> {
    const started = performance.now();
    let lastError = 'no replica up';
    for (let attempt = 0; attempt < 3; attempt++) {
      const replica = options.replica !== undefined ? this.replicas[options.replica] : this.pick();
      if (!replica) break;
      try {
        const hasBody = options.raw !== undefined || options.body !== undefined;
        const response = await request(`${replica.url}${options.path}`, {
          method: (options.method ?? 'POST') as 'POST',
          headers: {
            ...(hasBody && options.raw === undefined ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
          body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
          dispatcher: this.agent,
          headersTimeout: options.timeoutMs ?? 30_000,
          bodyTimeout: options.timeoutMs ?? 30_000,
        });
        const text = await response.body.text();
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          headers[name] = Array.isArray(value) ? value.join(', ') : String(value ?? '');
        }
        if (options.scan !== false) {
          this.canary.scan(
            `response ${options.method ?? 'POST'} ${options.path}`,
            `${JSON.stringify(headers)}\n${text}`,
          );
        }
        return {
          status: response.statusCode,
          headers,
          text,
          ms: performance.now() - started,
          replica: replica.index,
        };
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        lastError = `${code} ${(error as Error).message}`.trim();
        if (code === 'ECONNREFUSED' && options.replica === undefined) continue;
        return {
          status: 0,
          headers: {},
          text: '',
          ms: performance.now() - started,
          replica: replica.index,
          error: lastError,
        };
      }
    }
    return {
      status: 0,
      headers: {},
      text: '',
      ms: performance.now() - started,
      replica: -1,
      error: lastError,
    };
  }

  chatBody(model: string, rid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { model, messages: [{ role: 'user', content: `reliability probe [rid:${rid}] hello` }], ...extra };
  }

  /** Runs SQL against the run's own PostgreSQL (the ledger checks). */
  async sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: this.pg.url });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Waits until every buffered ledger row of the live replicas has reached PostgreSQL. */
  async ledgerRows(rids: string[], timeoutMs = 30_000): Promise<Map<string, number>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.sql<{ request_id: string; n: string }>(
        'SELECT request_id, count(*) AS n FROM usage_records WHERE request_id = ANY($1) GROUP BY request_id',
        [rids],
      ).catch(() => [] as { request_id: string; n: string }[]);
      const counts = new Map(rows.map((r) => [r.request_id, Number(r.n)]));
      if (counts.size >= rids.length || Date.now() > deadline) return counts;
      await sleep(500);
    }
  }

  async stop(): Promise<void> {
    // All at once: each drains on its own (the rolling, one-at-a-time restart is R1's, not the teardown's).
    await Promise.all(this.replicas.map((replica) => replica.stop('SIGTERM', 20_000).catch(() => undefined)));
    // RELIABILITY_LOG_DIR keeps every replica's output (one file per incarnation) for a post-mortem.
    const keep = process.env.RELIABILITY_LOG_DIR;
    if (keep) {
      await mkdir(keep, { recursive: true });
      for (const replica of this.replicas) {
        for (const [n, text] of replica.logs.entries())
          await writeFile(join(keep, `replica-${replica.index}-${n}.log`), text);
      }
    }
    await this.agent.close().catch(() => undefined);
    await Promise.allSettled([
      this.upstream?.close(),
      this.otlp?.close(),
      this.redis?.destroy(),
      this.pg?.destroy(),
    ]);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** gateway.yaml of a run: one endpoint per fault, all on the fault upstream. */
export function gatewayYaml(upstream: string, profile: Profile): string {
  const endpoint = (name: string, mode: string, gatehouse = '') => `
  - name: ${name}
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: $MOCK_OPENAI_KEY
        openai_api_base: ${upstream}/f/${mode}/v1
${gatehouse}`;
  return `endpoints:${[
    endpoint('chat', 'ok'),
    endpoint(
      'budgeted',
      'ok',
      '    gatehouse:\n      pricing: { input_per_million: 0, output_per_million: 1000000 }',
    ),
    endpoint(
      'r9-budget',
      'ok',
      '    gatehouse:\n      pricing: { input_per_million: 0, output_per_million: 1 }',
    ),
    endpoint(
      'limited',
      'ok',
      `    gatehouse:\n      limits:\n        - { per: endpoint, requests_per_day: ${profile.r3Limit} }`,
    ),
    endpoint(
      'r9-limit',
      'ok',
      '    gatehouse:\n      limits:\n        - { per: endpoint, requests_per_day: 1000000 }',
    ),
    endpoint('flaky', 'flaky', '    gatehouse:\n      fallbacks: [steady]'),
    endpoint('steady', 'ok'),
    endpoint('hang', 'hang', `    gatehouse:\n      timeout_ms: ${profile.r6TimeoutMs}`),
    endpoint('slow', 'slow'),
    endpoint('echo', 'echo'),
  ].join('')}\n`;
}
