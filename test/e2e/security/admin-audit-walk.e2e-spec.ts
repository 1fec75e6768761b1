import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { Client } from 'pg';
import { bearer, call, JsonResponse } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(180_000);

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Write routes outside /admin that are not admin changes, each with the reason. */
const NOT_ADMIN_WRITES: Record<string, string> = {
  'POST /v1/chat/completions': 'inference',
  'POST /v1/completions': 'inference',
  'POST /v1/embeddings': 'inference',
  'POST /v1/moderations': 'inference (moderation model)',
  'POST /v1/responses': 'inference',
  'POST /gateway/openai/v1/responses': 'inference (MLflow 3 OpenAI passthrough)',
  'POST /v1/messages': 'inference (Anthropic wire)',
  'POST /v1/messages/count_tokens': 'inference (Anthropic wire; a token count)',
  'POST /gateway/anthropic/v1/messages': 'inference (MLflow 3 Anthropic passthrough)',
  'POST /gateway/openai/v1/chat/completions': 'inference (MLflow 3 OpenAI passthrough)',
  'POST /gateway/openai/v1/embeddings': 'inference (MLflow 3 OpenAI passthrough)',
  'POST /v1beta/models/:name(^[^:/]+)::generateContent': 'inference (Gemini wire)',
  'POST /v1beta/models/:name(^[^:/]+)::streamGenerateContent': 'inference (Gemini wire)',
  'POST /gateway/gemini/v1beta/models/:name(^[^:/]+)::generateContent':
    'inference (MLflow 3 Gemini passthrough)',
  'POST /gateway/gemini/v1beta/models/:name(^[^:/]+)::streamGenerateContent':
    'inference (MLflow 3 Gemini passthrough)',
  'DELETE /v1/conversations/:id': "a caller's own conversation (data plane, not configuration)",
  'DELETE /v1/responses/:id': "a caller's own stored response (data plane, not configuration)",
  'DELETE /gateway/openai/v1/responses/:id': "a caller's own stored response (MLflow 3 OpenAI passthrough)",
  'POST /webhooks/mlflow': 'signed registry webhook (a sync trigger, no admin principal)',
  'POST /endpoints/:name/invocations': 'inference (MLflow deployments API)',
  'POST /gateway/:name/invocations': 'inference (MLflow gateway)',
  'POST /gateway/mlflow/v1/chat/completions': 'inference (MLflow gateway)',
  'POST /gateway/:name/mlflow/invocations': 'inference (MLflow gateway)',
  'POST /predict/*': 'scoring (model serving)',
  'POST /apis/:name': 'a published prompt API call (inference)',
  'POST /v1/knowledge-bases/:kb/search': 'a knowledge-base search (data plane)',
  'POST /ask/:name': 'inference (RAG endpoint)',
  'POST /v1/files': "a caller's own batch input file (OpenAI Files API, data plane)",
  'DELETE /v1/files/:id': "a caller's own file (OpenAI Files API, data plane)",
  'POST /v1/batches': 'a batch of inference requests (OpenAI Batch API)',
  'POST /v1/batches/:id/cancel': "cancels a caller's own batch (OpenAI Batch API)",
};

/**
 * Knowledge-base writes need pgvector, which this PostgreSQL server lacks: here each must answer 503
 * `vector_store_unavailable` and leave no audit row. Their audit rows are walked on embedded PGlite in
 * test/e2e/knowledge/knowledge-bases.e2e-spec.ts.
 */
const NEEDS_PGVECTOR = new Set([
  'POST /admin/v1/knowledge-bases',
  'PATCH /admin/v1/knowledge-bases/:kb',
  'DELETE /admin/v1/knowledge-bases/:kb',
  'POST /admin/v1/knowledge-bases/:kb/documents',
  'POST /admin/v1/knowledge-bases/:kb/index',
  'DELETE /admin/v1/knowledge-bases/:kb/documents/:id',
]);

/** Admin POSTs that change nothing (dry runs): they must leave no audit row. */
const READ_ONLY = new Set(['POST /admin/v1/prompts/:name/render', 'POST /admin/v1/moderation/dry-run']);

interface Case {
  /** Prerequisites (not counted); returns the path parameters. */
  setup?: () => Promise<Record<string, string>>;
  body?: (params: Record<string, string>) => unknown;
  /** Query string to add (e.g. none); the path comes from the route. */
  query?: string;
}

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

describe('every admin write route leaves exactly one audit row, in its transaction', () => {
  let gateway: TestGateway;
  let mlflow: Server;
  let db: Client;
  const admin = () => gateway.authHeaders();
  const api = (method: string, path: string, body?: unknown, headers = admin()): Promise<JsonResponse> =>
    call(gateway.url, method, path, headers, body);

  beforeAll(async () => {
    // An empty MLflow Model Registry, so that an admin sync succeeds.
    mlflow = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((resolve) => mlflow.listen(0, '127.0.0.1', resolve));
    gateway = await startGateway(
      `
endpoints: []
gatehouse:
  moderation:
    policies:
      strict:
        input:
          - {type: deny-list, keywords: [project nightingale]}
`,
      {
        env: {
          GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
          // Endpoints and budget webhooks point at public hosts (never called), listed as an operator would.
          UPSTREAM_ALLOWED_HOSTS: 'api.openai.com,hooks.example.com,127.0.0.1',
          MLFLOW_TRACKING_URI: `http://127.0.0.1:${(mlflow.address() as AddressInfo).port}`,
        },
      },
    );
    db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
    expect((await api('PUT', '/admin/v1/secrets/walk-key', { value: 'sk-walk' })).status).toBeLessThan(300);
  });

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await new Promise((resolve) => mlflow?.close(resolve));
  });

  interface Route {
    method: string;
    path: string;
    key: string;
  }

  /** Every handler of the running app (the Nest router), as `METHOD /path`. */
  function routes(): Route[] {
    const scanner = new MetadataScanner();
    const out: Route[] = [];
    for (const module of gateway.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const instance = wrapper.instance as Record<string, unknown> | undefined;
        if (!instance || !wrapper.metatype) continue;
        const prototype = Object.getPrototypeOf(instance) as object;
        const base = String(Reflect.getMetadata(PATH_METADATA, wrapper.metatype) ?? '');
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = (prototype as Record<string, (...args: unknown[]) => unknown>)[name];
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          if (method === undefined) continue;
          const own = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
          const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
          out.push({ method: RequestMethod[method], path, key: `${RequestMethod[method]} ${path}` });
        }
      }
    }
    return out;
  }

  // --- factories for prerequisites (each through the API, as an admin would) -------------------
  const endpointBody = (name: string, model = 'gpt-4o-mini') => ({
    name,
    endpoint_type: 'llm/v1/chat',
    model: {
      provider: 'openai',
      name: model,
      config: { openai_api_key: '$secret:walk-key', openai_api_base: 'https://api.openai.com/v1' },
    },
  });
  const created = async (response: Promise<JsonResponse>): Promise<JsonResponse> => {
    const answer = await response;
    expect(answer.status).toBeLessThan(300);
    return answer;
  };
  const team = async () =>
    (await created(api('POST', '/admin/v1/teams', { name: unique('team') }))).body.id as string;
  const principal = async () =>
    (
      await created(
        api('POST', '/admin/v1/principals', { kind: 'user', name: unique('p'), roles: ['developer'] }),
      )
    ).body.id as string;
  const endpoint = async () => {
    const name = unique('ep');
    await created(api('POST', '/admin/v1/endpoints', endpointBody(name)));
    return name;
  };
  const route = async () => {
    const name = unique('rt');
    const target = await endpoint();
    await created(
      api('POST', '/admin/v1/routes', {
        name,
        task_type: 'llm/v1/chat',
        destinations: [{ name: target, traffic_percentage: 100 }],
      }),
    );
    return { name, target };
  };
  const template = async () => {
    const name = unique('pt');
    await created(
      api('POST', '/admin/v1/prompts', {
        name,
        messages: [{ role: 'user', content: 'Hi {{who}}' }],
        variables: [{ name: 'who' }],
        labels: ['production'],
      }),
    );
    return name;
  };
  const rollout = async () => {
    const baseline = await endpoint();
    const canary = await endpoint();
    const answer = await created(
      api('POST', '/admin/v1/rollouts', {
        route: unique('ro'),
        baseline,
        canary,
        steps: [10, 100],
        hold_seconds: 3600,
      }),
    );
    return answer.body.id as string;
  };
  // An API product (slug names), as a draft or published.
  const product = async (publish = false) => {
    const name = unique('prod');
    await created(api('POST', '/admin/v1/products', { name, title: name, endpoint: await endpoint() }));
    if (publish) await created(api('POST', `/admin/v1/products/${name}/publish`));
    return name;
  };
  const key = async () =>
    (await created(api('POST', '/admin/v1/keys', { name: unique('k'), principalId: await principal() }))).body
      .id as string;
  const subscription = async () =>
    (
      await created(
        api('POST', '/admin/v1/subscriptions', { endpointPattern: 'walk-*', reason: 'audit walk' }),
      )
    ).body.id as string;
  const budget = async () =>
    (
      await created(
        api('POST', '/admin/v1/budgets', {
          name: unique('b'),
          scope: 'global',
          period: 'monthly',
          amount_usd: 5,
          alert_webhook_url: 'https://hooks.example.com/services/secret-in-url',
        }),
      )
    ).body.id as string;
  const limit = async () =>
    (
      await created(
        api('POST', '/admin/v1/limits', { scope: 'global', metric: 'requests', window: 'minute', limit: 50 }),
      )
    ).body.id as string;

  /** How to exercise each admin write route once; a new route without a case fails the walk. */
  const CASES: Record<string, Case> = {
    'POST /admin/v1/teams': { body: () => ({ name: unique('team') }) },
    'PATCH /admin/v1/teams/:id': {
      setup: async () => ({ id: await team() }),
      body: () => ({ description: 'new' }),
    },
    'DELETE /admin/v1/teams/:id': { setup: async () => ({ id: await team() }) },
    'POST /admin/v1/principals': {
      body: () => ({ kind: 'service', name: unique('svc'), roles: ['viewer'] }),
    },
    'PATCH /admin/v1/principals/:id': {
      setup: async () => ({ id: await principal() }),
      body: () => ({ disabled: true }),
    },
    'PUT /admin/v1/principals/:id/roles': {
      setup: async () => ({ id: await principal() }),
      body: () => ({ roles: ['viewer'] }),
    },
    'DELETE /admin/v1/principals/:id': { setup: async () => ({ id: await principal() }) },
    'POST /admin/v1/grants': {
      setup: async () => ({ team: await team() }),
      body: (p) => ({ teamId: p.team, endpointPattern: 'walk-*' }),
    },
    'DELETE /admin/v1/grants/:id': {
      setup: async () => ({
        id: (await created(api('POST', '/admin/v1/grants', { teamId: await team(), endpointPattern: 'g-*' })))
          .body.id as string,
      }),
    },
    'POST /admin/v1/subscriptions': { body: () => ({ endpointPattern: 'walk-*', reason: 'please' }) },
    'POST /admin/v1/subscriptions/:id/approve': {
      setup: async () => ({ id: await subscription() }),
      body: () => ({}),
    },
    'POST /admin/v1/subscriptions/:id/reject': {
      setup: async () => ({ id: await subscription() }),
      body: () => ({}),
    },
    'POST /admin/v1/products': {
      setup: async () => ({ endpoint: await endpoint() }),
      body: (p) => ({ name: unique('prod'), title: 'Walk product', endpoint: p.endpoint }),
    },
    'POST /admin/v1/products/:name/publish': { setup: async () => ({ name: await product() }) },
    'POST /admin/v1/products/:name/deprecate': {
      setup: async () => ({ name: await product(true) }),
      body: () => ({ sunset: new Date(Date.now() + 86_400_000).toISOString() }),
    },
    'POST /admin/v1/products/:name/retire': { setup: async () => ({ name: await product(true) }) },
    'POST /admin/v1/catalogue/:name/subscriptions': {
      setup: async () => ({ name: await product(true) }),
      body: () => ({ reason: 'walk' }),
    },
    'POST /admin/v1/keys': { body: () => ({ name: unique('k') }) },
    'POST /admin/v1/keys/:id/revoke': { setup: async () => ({ id: await key() }) },
    'POST /admin/v1/keys/:id/rotate': {
      setup: async () => ({ id: await key() }),
      body: () => ({ graceSeconds: 0 }),
    },
    'PUT /admin/v1/secrets/:name': {
      setup: async () => ({ name: unique('s') }),
      body: () => ({ value: 'sk-x' }),
    },
    'POST /admin/v1/knowledge-bases': { body: () => ({ name: unique('kb'), embeddingEndpoint: 'e' }) },
    'PATCH /admin/v1/knowledge-bases/:kb': { setup: async () => ({ kb: 'kb' }), body: () => ({}) },
    'DELETE /admin/v1/knowledge-bases/:kb': { setup: async () => ({ kb: 'kb' }) },
    'POST /admin/v1/knowledge-bases/:kb/documents': {
      setup: async () => ({ kb: 'kb' }),
      body: () => ({ id: 'd', content: 'text' }),
    },
    'POST /admin/v1/knowledge-bases/:kb/index': { setup: async () => ({ kb: 'kb' }) },
    'DELETE /admin/v1/knowledge-bases/:kb/documents/:id': { setup: async () => ({ kb: 'kb', id: 'd' }) },
    'DELETE /admin/v1/secrets/:name': {
      setup: async () => {
        const name = unique('s');
        await created(api('PUT', `/admin/v1/secrets/${name}`, { value: 'sk-y' }));
        return { name };
      },
    },
    'POST /admin/v1/secrets/reencrypt': {},
    'POST /admin/v1/registry/sync': {},
    'POST /admin/v1/endpoints': { body: () => endpointBody(unique('ep')) },
    'PUT /admin/v1/endpoints/:name': {
      setup: async () => ({ name: await endpoint() }),
      body: (p) => endpointBody(p.name, 'gpt-4o'),
    },
    'DELETE /admin/v1/endpoints/:name': { setup: async () => ({ name: await endpoint() }) },
    'POST /admin/v1/endpoints/:name/rollback': {
      setup: async () => {
        const name = await endpoint();
        await created(api('PUT', `/admin/v1/endpoints/${name}`, endpointBody(name, 'gpt-4o')));
        return { name };
      },
      body: () => ({ revision: 1 }),
    },
    'POST /admin/v1/routes': {
      setup: async () => ({ target: await endpoint() }),
      body: (p) => ({
        name: unique('rt'),
        task_type: 'llm/v1/chat',
        destinations: [{ name: p.target, traffic_percentage: 100 }],
      }),
    },
    'PUT /admin/v1/routes/:name': {
      setup: async () => route(),
      body: (p) => ({
        task_type: 'llm/v1/chat',
        destinations: [{ name: p.target, traffic_percentage: 100 }],
      }),
    },
    'DELETE /admin/v1/routes/:name': { setup: async () => route() },
    'POST /admin/v1/routes/:name/rollback': {
      setup: async () => {
        const made = await route();
        await created(api('DELETE', `/admin/v1/routes/${made.name}`));
        return made;
      },
      body: () => ({ revision: 1 }),
    },
    'POST /admin/v1/rollouts': {
      setup: async () => ({ baseline: await endpoint(), canary: await endpoint() }),
      body: (p) => ({
        route: unique('ro'),
        baseline: p.baseline,
        canary: p.canary,
        steps: [10, 100],
        hold_seconds: 3600,
      }),
    },
    'POST /admin/v1/rollouts/:id/pause': { setup: async () => ({ id: await rollout() }) },
    'POST /admin/v1/rollouts/:id/resume': {
      setup: async () => {
        const id = await rollout();
        await created(api('POST', `/admin/v1/rollouts/${id}/pause`));
        return { id };
      },
    },
    'POST /admin/v1/rollouts/:id/abort': { setup: async () => ({ id: await rollout() }) },
    'PUT /admin/v1/cache/policies/:endpoint': {
      setup: async () => ({ endpoint: await endpoint() }),
      body: () => ({ ttl_seconds: 30 }),
    },
    'DELETE /admin/v1/cache/policies/:endpoint': {
      setup: async () => {
        const name = await endpoint();
        await created(api('PUT', `/admin/v1/cache/policies/${name}`, { ttl_seconds: 30 }));
        return { endpoint: name };
      },
    },
    'POST /admin/v1/cache/invalidations': { body: () => ({ all: true }) },
    'PUT /admin/v1/moderation/teams/:team/overrides/:endpoint': {
      setup: async () => ({ team: await team(), endpoint: await endpoint() }),
      body: () => ({ policy: 'strict' }),
    },
    'DELETE /admin/v1/moderation/teams/:team/overrides/:endpoint': {
      setup: async () => {
        const params = { team: await team(), endpoint: await endpoint() };
        await created(
          api('PUT', `/admin/v1/moderation/teams/${params.team}/overrides/${params.endpoint}`, {
            policy: 'strict',
          }),
        );
        return params;
      },
    },
    'POST /admin/v1/moderation/dry-run': {
      body: () => ({ text: 'about project nightingale', policy: 'strict' }),
    },
    'POST /admin/v1/prompts': {
      body: () => ({ name: unique('pt'), messages: [{ role: 'user', content: 'Hello' }] }),
    },
    'DELETE /admin/v1/prompts/:name': { setup: async () => ({ name: await template() }) },
    'POST /admin/v1/prompts/:name/versions': {
      setup: async () => ({ name: await template() }),
      body: () => ({
        messages: [{ role: 'user', content: 'Hello again {{who}}' }],
        variables: [{ name: 'who' }],
      }),
    },
    'PUT /admin/v1/prompts/:name/labels/:label': {
      setup: async () => ({ name: await template(), label: 'staging' }),
      body: () => ({ version: 1 }),
    },
    'DELETE /admin/v1/prompts/:name/labels/:label': {
      setup: async () => ({ name: await template(), label: 'production' }),
    },
    'POST /admin/v1/prompts/:name/render': {
      setup: async () => ({ name: await template() }),
      body: () => ({ variables: { who: 'x' } }),
    },
    'PUT /admin/v1/prompt-apis/:name': {
      setup: async () => ({ name: unique('api'), template: await template(), endpoint: await endpoint() }),
      body: (p) => ({ template: p.template, endpoint: p.endpoint, structured_output: false }),
    },
    'DELETE /admin/v1/prompt-apis/:name': {
      setup: async () => {
        const params = { name: unique('api'), template: await template(), endpoint: await endpoint() };
        await created(
          api('PUT', `/admin/v1/prompt-apis/${params.name}`, {
            template: params.template,
            endpoint: params.endpoint,
            structured_output: false,
          }),
        );
        return params;
      },
    },
    'POST /admin/v1/limits': {
      body: () => ({ scope: 'global', metric: 'requests', window: 'minute', limit: 10 }),
    },
    'PUT /admin/v1/limits/:id': {
      setup: async () => ({ id: await limit() }),
      body: () => ({ scope: 'global', metric: 'requests', window: 'minute', limit: 20 }),
    },
    'DELETE /admin/v1/limits/:id': { setup: async () => ({ id: await limit() }) },
    'POST /admin/v1/budgets': {
      body: () => ({
        name: unique('b'),
        scope: 'global',
        period: 'daily',
        amount_usd: 1,
        alert_webhook_url: 'https://hooks.example.com/services/secret-in-url',
      }),
    },
    'PUT /admin/v1/budgets/:id': {
      setup: async () => ({ id: await budget() }),
      body: () => ({
        name: unique('b'),
        scope: 'global',
        period: 'weekly',
        amount_usd: 2,
        alert_webhook_url: 'https://hooks.example.com/services/secret-in-url',
      }),
    },
    'DELETE /admin/v1/budgets/:id': { setup: async () => ({ id: await budget() }) },
    'POST /admin/v1/prices': {
      body: () => ({ provider: 'openai', model: unique('m'), input_per_million: 1, output_per_million: 2 }),
    },
    'DELETE /admin/v1/prices/:id': {
      setup: async () => ({
        id: (
          await created(
            api('POST', '/admin/v1/prices', {
              provider: 'openai',
              model: unique('m'),
              input_per_million: 1,
              output_per_million: 2,
            }),
          )
        ).body.id as string,
      }),
    },
  };

  const successRows = async (requestId?: string): Promise<number> => {
    const result = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM audit_log WHERE outcome = 'success'${requestId ? ' AND request_id = $1' : ''}`,
      requestId ? [requestId] : [],
    );
    return Number(result.rows[0].n);
  };

  it('finds every write route: admin ones have a case here, the others are known data-plane routes', () => {
    const writes = routes().filter((r) => WRITES.has(r.method));
    const admin = writes.filter((r) => r.path.startsWith('/admin/'));
    expect(admin.length).toBeGreaterThan(50);
    expect(admin.map((r) => r.key).filter((k) => !(k in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((k) => !admin.some((r) => r.key === k))).toEqual([]);
    // A write route anywhere else must be declared non-admin here, with its reason.
    const elsewhere = writes.filter((r) => !r.path.startsWith('/admin/')).map((r) => r.key);
    expect(elsewhere.filter((k) => !(k in NOT_ADMIN_WRITES))).toEqual([]);
    console.log(
      `write routes: ${admin.length} admin, ${elsewhere.length} data plane (${elsewhere.join(', ')})`,
    );
  });

  it('each admin write leaves exactly one audit row (same request id), with hashes and no secret values', async () => {
    const admin = routes().filter((r) => WRITES.has(r.method) && r.path.startsWith('/admin/'));
    const wrong: string[] = [];
    let writes = 0;
    for (const route of admin) {
      const spec = CASES[route.key];
      const params = spec.setup ? await spec.setup() : {};
      const path = route.path.replace(/:([A-Za-z]+)/g, (_m, name: string) =>
        encodeURIComponent(params[name]),
      );
      const requestId = `walk-${randomBytes(8).toString('hex')}`;
      const before = await successRows();
      const answer = await api(route.method, `${path}${spec.query ?? ''}`, spec.body?.(params), {
        ...admin_(),
        'x-request-id': requestId,
      });
      if (NEEDS_PGVECTOR.has(route.key)) {
        const code = (answer.body as { code?: string } | null)?.code;
        if (
          answer.status !== 503 ||
          code !== 'vector_store_unavailable' ||
          (await successRows(requestId)) !== 0
        )
          wrong.push(
            `${route.key}: status ${answer.status} ${code} without pgvector (want 503, no audit row)`,
          );
        continue;
      }
      if (answer.status >= 300) {
        wrong.push(`${route.key}: status ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
        continue;
      }
      const own = await successRows(requestId);
      const total = (await successRows()) - before;
      const want = READ_ONLY.has(route.key) ? 0 : 1;
      if (own !== want || total !== want)
        wrong.push(`${route.key}: ${own} rows for the request, ${total} in all (want ${want})`);
      if (want === 1) {
        writes++;
        const row = await db.query<{
          before: unknown;
          after: unknown;
          before_hash: string | null;
          after_hash: string | null;
          actor_name: string;
        }>('SELECT before, after, before_hash, after_hash, actor_name FROM audit_log WHERE request_id = $1', [
          requestId,
        ]);
        const stored = row.rows[0];
        if (JSON.stringify(stored).includes('secret-in-url') || JSON.stringify(stored).includes('sk-x')) {
          wrong.push(`${route.key}: a secret value in the audit row`);
        }
        if (stored.after !== null && !/^[0-9a-f]{64}$/.test(stored.after_hash ?? ''))
          wrong.push(`${route.key}: no after hash`);
        if (stored.before !== null && !/^[0-9a-f]{64}$/.test(stored.before_hash ?? ''))
          wrong.push(`${route.key}: no before hash`);
      }
    }
    console.log(
      `admin audit walk: ${admin.length} write routes, ${writes} audited writes, ${admin.length - writes} dry runs`,
    );
    expect(wrong).toEqual([]);
  });

  it('writes the change and its audit row together: a refused change leaves neither', async () => {
    const name = await endpoint();
    const before = await successRows();
    // Another team's endpoint in a route: refused after the transaction began (the config lock is held).
    const operatorTeam = await team();
    const operator = await created(
      api('POST', '/admin/v1/principals', {
        kind: 'user',
        name: unique('op'),
        teamId: operatorTeam,
        roles: ['operator'],
      }),
    );
    const operatorKey = await created(
      api('POST', '/admin/v1/keys', { name: unique('k'), principalId: operator.body.id }),
    );
    const setupRows = (await successRows()) - before;
    const refused = await api(
      'PUT',
      `/admin/v1/endpoints/${name}`,
      endpointBody(name, 'gpt-4o'),
      bearer(operatorKey.body.key as string),
    );
    expect(refused.status).toBe(403);
    expect((await successRows()) - before).toBe(setupRows);
    expect((await api('GET', `/admin/v1/endpoints/${name}`)).body.entry.model.name).toBe('gpt-4o-mini');
  });

  const admin_ = () => admin();
});
