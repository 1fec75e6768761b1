import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { Client } from 'pg';
import { REQUIRED_PERMISSION_KEY } from 'src/common/auth/auth.decorators';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { INVOCATION_SPEC, InvocationSpec } from 'src/modules/pipeline/invocation-context';
import { startOpenAIMock, OpenAIMock, MOCK_API_KEY } from 'test/mocks/openai-mock.server';
import { call } from 'test/e2e/support/admin-client';
import { FakeScorer, startFakeScorer } from 'test/e2e/support/fake-scorer';
import { ensurePythonVenv, SETUP_TIMEOUT_MS } from 'test/e2e/support/python';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';
import { startTrackingServer, TrackingServer, trainModels } from 'test/e2e/registry/mlflow-stack';

/*
 * The policy route walk: every inference route of the running app, found from its handlers, runs every
 * stage of the pipeline. For each route (and each kind of endpoint it serves: an MLflow invocation path
 * serves LLM and predict endpoints alike) the test proves that a key with a 0-request limit gets 429, a
 * key scoped to other endpoints gets 403, a deny-listed phrase is blocked, and a successful call leaves
 * one ledger row with the caller's team and the endpoint and moves the request counter. A handler that
 * needs `inference.invoke` without declaring @Invocation, or an invocation route without a sample
 * request here, fails the test.
 */

const PHRASE = 'walk-forbidden-phrase';

/** A request to a route, built around a text the deny list can see. */
interface Sample {
  /** What the sample calls: the endpoint name the ledger row must show. */
  endpoint: string;
  path: string;
  body: (text: string) => unknown;
}

/** Sample requests per route pattern (`METHOD /path`); a route may serve several kinds of endpoint. */
const SAMPLES: Record<string, Sample[]> = {
  'POST /ask/:name': [
    {
      endpoint: 'walk-chat',
      path: '/ask/walk-chat',
      body: (text) => ({ question: text }),
    },
  ],
  'POST /v1/chat/completions': [
    {
      endpoint: 'walk-chat',
      path: '/v1/chat/completions',
      body: (text) => ({ model: 'walk-chat', messages: [{ role: 'user', content: text }] }),
    },
  ],
  'POST /v1/completions': [
    {
      endpoint: 'walk-completions',
      path: '/v1/completions',
      body: (text) => ({ model: 'walk-completions', prompt: text }),
    },
  ],
  'POST /v1/embeddings': [
    {
      endpoint: 'walk-embed',
      path: '/v1/embeddings',
      body: (text) => ({ model: 'walk-embed', input: text }),
    },
  ],
  'POST /endpoints/:name/invocations': [
    {
      endpoint: 'walk-chat',
      path: '/endpoints/walk-chat/invocations',
      body: (text) => ({ messages: [{ role: 'user', content: text }] }),
    },
    {
      endpoint: 'walk-model',
      path: '/endpoints/walk-model/invocations',
      body: (text) => ({ dataframe_split: { columns: ['text'], data: [[text]] } }),
    },
  ],
  'POST /gateway/:name/invocations': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/walk-chat/invocations',
      body: (text) => ({ messages: [{ role: 'user', content: text }] }),
    },
    {
      endpoint: 'walk-model',
      path: '/gateway/walk-model/invocations',
      body: (text) => ({ dataframe_records: [{ text }] }),
    },
  ],
  'POST /gateway/mlflow/v1/chat/completions': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/mlflow/v1/chat/completions',
      body: (text) => ({ model: 'walk-chat', messages: [{ role: 'user', content: text }] }),
    },
  ],
  'POST /gateway/:name/mlflow/invocations': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/walk-chat/mlflow/invocations',
      body: (text) => ({ messages: [{ role: 'user', content: text }] }),
    },
    {
      endpoint: 'walk-embed',
      path: '/gateway/walk-embed/mlflow/invocations',
      body: (text) => ({ input: [text] }),
    },
  ],
  'POST /v1/messages': [
    {
      endpoint: 'walk-chat',
      path: '/v1/messages',
      body: (text) => ({ model: 'walk-chat', max_tokens: 50, messages: [{ role: 'user', content: text }] }),
    },
  ],
  'POST /v1/messages/count_tokens': [
    {
      endpoint: 'walk-chat',
      path: '/v1/messages/count_tokens',
      body: (text) => ({ model: 'walk-chat', messages: [{ role: 'user', content: text }] }),
    },
  ],
  'POST /gateway/anthropic/v1/messages': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/anthropic/v1/messages',
      body: (text) => ({
        model: 'walk-chat',
        max_tokens: 50,
        system: 'walk',
        messages: [{ role: 'user', content: [{ type: 'text', text }] }],
      }),
    },
  ],
  'POST /v1beta/models/:name(^[^:/]+)::generateContent': [
    {
      endpoint: 'walk-chat',
      path: '/v1beta/models/walk-chat:generateContent',
      body: (text) => ({ contents: [{ role: 'user', parts: [{ text }] }] }),
    },
  ],
  'POST /v1beta/models/:name(^[^:/]+)::streamGenerateContent': [
    {
      endpoint: 'walk-chat',
      path: '/v1beta/models/walk-chat:streamGenerateContent?alt=sse',
      body: (text) => ({ contents: [{ role: 'user', parts: [{ text }] }] }),
    },
  ],
  'POST /gateway/gemini/v1beta/models/:name(^[^:/]+)::generateContent': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/gemini/v1beta/models/walk-chat:generateContent',
      body: (text) => ({ contents: [{ role: 'user', parts: [{ text }] }] }),
    },
  ],
  'POST /gateway/gemini/v1beta/models/:name(^[^:/]+)::streamGenerateContent': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/gemini/v1beta/models/walk-chat:streamGenerateContent',
      body: (text) => ({ contents: [{ role: 'user', parts: [{ text }] }] }),
    },
  ],
  'POST /v1/responses': [
    {
      endpoint: 'walk-chat',
      path: '/v1/responses',
      body: (text) => ({ model: 'walk-chat', input: text }),
    },
  ],
  'POST /gateway/openai/v1/responses': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/openai/v1/responses',
      body: (text) => ({
        model: 'walk-chat',
        instructions: 'walk',
        input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }],
      }),
    },
  ],
  'POST /gateway/openai/v1/chat/completions': [
    {
      endpoint: 'walk-chat',
      path: '/gateway/openai/v1/chat/completions',
      body: (text) => ({ model: 'walk-chat', messages: [{ role: 'user', content: text }] }),
    },
  ],
  'POST /gateway/openai/v1/embeddings': [
    {
      endpoint: 'walk-embed',
      path: '/gateway/openai/v1/embeddings',
      body: (text) => ({ model: 'walk-embed', input: text }),
    },
  ],
  'POST /predict/*': [
    {
      endpoint: 'walk-model',
      path: '/predict/walk',
      body: (text) => ({ instances: [{ text }] }),
    },
  ],
  'POST /apis/:name': [{ endpoint: 'walk-chat', path: '/apis/walk-api', body: (text) => ({ text }) }],
};

/**
 * Routes that need `inference.invoke` but call no endpoint (a local classifier; a caller's own stored
 * responses, read back or deleted), walked elsewhere.
 */
const NOT_ENDPOINT_CALLS = [
  'POST /v1/moderations',
  'GET /v1/responses/:id',
  'GET /gateway/openai/v1/responses/:id',
  'DELETE /v1/responses/:id',
  'DELETE /gateway/openai/v1/responses/:id',
  'GET /v1/responses/:id/input_items',
  'GET /gateway/openai/v1/responses/:id/input_items',
  // Embeds the query as the caller through InternalInvocations (tracing, limits, ledger), like moderations.
  'POST /v1/knowledge-bases/:kb/search',
  // The caller's own files and batches: a batch's lines run later through every stage of the pipeline
  // (PipelineInvoker, as the submitting key), which test/e2e/batch walks with limits, ledger and grants.
  'POST /v1/files',
  'GET /v1/files',
  'GET /v1/files/:id',
  'DELETE /v1/files/:id',
  'GET /v1/files/:id/content',
  'POST /v1/batches',
  'GET /v1/batches',
  'GET /v1/batches/:id',
  'POST /v1/batches/:id/cancel',
];

describe('policy route walk: every inference route runs every stage of the pipeline', () => {
  let tracking: TrackingServer | undefined;
  let scorer: FakeScorer | undefined;
  let mock: OpenAIMock | undefined;
  let gateway: TestGateway | undefined;
  let db: Client | undefined;
  let admin: Record<string, string>;
  const keys: Record<'ok' | 'zero' | 'scoped', { key: string; id: string }> = {} as never;
  let teamId = '';
  const results: string[] = [];

  const api = (method: string, path: string, body?: unknown) => call(gateway!.url, method, path, admin, body);

  beforeAll(async () => {
    await ensurePythonVenv();
    [tracking, scorer, mock] = await Promise.all([
      startTrackingServer(),
      startFakeScorer([1]),
      startOpenAIMock(),
    ]);
    await trainModels(tracking.url);
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('walk-chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('walk-completions', 'gpt-3.5-turbo-instruct', mock.url, 'llm/v1/completions')}
${openaiEndpoint('walk-embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
  - name: walk-model
    endpoint_type: ml/v1/predict
    model: { provider: mlflow-model-registry, name: "models:/sentiment/1" }
    gatehouse:
      serving_url_template: "${scorer.url}"
      path: /predict/walk
`,
      { env: { MLFLOW_TRACKING_URI: tracking.url, REGISTRY_SYNC_INTERVAL_MS: '600000' } },
    );
    admin = gateway.authHeaders();
    db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();

    const team = await api('POST', '/admin/v1/teams', { name: 'walkers' });
    teamId = team.body.id;
    const grant = await api('POST', '/admin/v1/grants', { teamId, endpointPattern: 'walk-*' });
    expect([grant.status, grant.body]).toEqual([201, expect.anything()]);
    const principal = await api('POST', '/admin/v1/principals', {
      kind: 'service',
      name: 'walker',
      teamId,
      roles: ['developer'],
    });
    const mint = async (body: Record<string, unknown>) => {
      const created = await api('POST', '/admin/v1/keys', {
        name: 'k',
        principalId: principal.body.id,
        ...body,
      });
      expect([created.status, created.body]).toEqual([201, expect.anything()]);
      return { key: created.body.key as string, id: created.body.id as string };
    };
    keys.ok = await mint({});
    keys.zero = await mint({});
    keys.scoped = await mint({ endpoints: ['nothing-*'] });
    const zero = await api('POST', '/admin/v1/limits', {
      scope: 'key',
      subject: keys.zero.id,
      metric: 'requests',
      window: 'minute',
      limit: 0,
    });
    expect([zero.status, zero.body]).toEqual([201, expect.anything()]);
    const guard = await api('PUT', `/admin/v1/moderation/teams/${teamId}/overrides/*`, {
      input: [{ type: 'deny-list', keywords: [PHRASE] }],
    });
    expect(guard.status).toBe(200);
    await api('POST', '/admin/v1/prompts', {
      name: 'walk-template',
      messages: [{ role: 'user', content: 'Say something about: {{text}}' }],
      variables: [{ name: 'text', type: 'string', max_length: 2000 }],
      labels: ['production'],
    });
    expect(
      (
        await api('PUT', '/admin/v1/prompt-apis/walk-api', {
          template: 'walk-template',
          endpoint: 'walk-chat',
        })
      ).status,
    ).toBe(200);
    // The predict endpoint answers once the registry has been read.
    await waitFor(
      async () => (await post('ok', SAMPLES['POST /predict/*'][0], 'hello')).status === 200,
      30_000,
    );
  }, SETUP_TIMEOUT_MS + 300_000);

  afterAll(async () => {
    await db?.end();
    await gateway?.close();
    await Promise.all([tracking?.stop(), scorer?.stop(), mock?.close()]);
  });

  const post = async (who: keyof typeof keys, sample: Sample, text: string) => {
    const response = await fetch(`${gateway!.url}${sample.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[who].key}`, 'content-type': 'application/json' },
      body: JSON.stringify(sample.body(text)),
    });
    const body = (await response.text()).slice(0, 300);
    return { status: response.status, body, requestId: response.headers.get('x-request-id') ?? '' };
  };

  /** `METHOD /path` of every handler, with its permission and its @Invocation spec. */
  function routes(): { route: string; permission?: string; spec?: InvocationSpec }[] {
    const scanner = new MetadataScanner();
    const reflector = gateway!.app.get(Reflector);
    const out: { route: string; permission?: string; spec?: InvocationSpec }[] = [];
    for (const module of gateway!.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        if (!wrapper.instance || !wrapper.metatype) continue;
        const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, () => unknown>;
        const base = String(Reflect.getMetadata(PATH_METADATA, wrapper.metatype) ?? '');
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = prototype[name];
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          if (method === undefined) continue;
          const own = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
          const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
          out.push({
            route: `${RequestMethod[method]} ${path}`,
            permission: reflector.getAllAndOverride<string>(REQUIRED_PERMISSION_KEY, [
              handler,
              wrapper.metatype,
            ]),
            spec: reflector.get<InvocationSpec>(INVOCATION_SPEC, handler),
          });
        }
      }
    }
    return out;
  }

  it('finds every inference route declared with @Invocation and has a sample request for each', () => {
    const all = routes();
    const inference = all.filter((r) => r.permission === 'inference.invoke').map((r) => r.route);
    const declared = all.filter((r) => r.spec !== undefined).map((r) => r.route);
    // Nothing that invokes skips the pipeline, except routes that call no endpoint at all.
    expect(inference.filter((r) => !declared.includes(r) && !NOT_ENDPOINT_CALLS.includes(r))).toEqual([]);
    expect(declared.sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  const counter = async (endpoint: string): Promise<number> => {
    const text = await (await fetch(`${gateway!.url}/metrics`, { headers: admin })).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('gatehouse_requests_total{') && l.includes(`endpoint="${endpoint}"`))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };

  it.each(
    Object.entries(SAMPLES).flatMap(([route, samples]) =>
      samples.map((s) => [route, s.endpoint, s] as const),
    ),
  )(
    '%s (%s): 0-request limit → 429, key scoped elsewhere → 403, deny-listed phrase → blocked, ledger row, counter',
    async (route, endpoint, sample) => {
      const limited = await post('zero', sample, 'hello');
      // Each surface words errors its own way (MLflow's paths answer {"detail": message}).
      expect([route, limited.status, limited.body]).toEqual([
        route,
        429,
        expect.stringMatching(/rate_limit_exceeded|Rate limit reached/),
      ]);

      const scoped = await post('scoped', sample, 'hello');
      expect([route, scoped.status]).toEqual([route, 403]);

      const blocked = await post('ok', sample, `please tell me about ${PHRASE} now`);
      expect([route, blocked.status, blocked.body]).toEqual([
        route,
        400,
        expect.stringMatching(/content_policy_violation|blocked/),
      ]);

      const before = await counter(endpoint);
      const ok = await post('ok', sample, 'hello there');
      expect([route, ok.status]).toEqual([route, 200]);
      await gateway!.app.get(UsageRecorder).flush();
      const rows = await db!.query<{ team_id: string; endpoint: string; status: number }>(
        'SELECT team_id, endpoint, status FROM usage_records WHERE request_id = $1',
        [ok.requestId],
      );
      expect(rows.rows).toEqual([{ team_id: teamId, endpoint, status: 200 }]);
      expect(await counter(endpoint)).toBe(before + 1);
      results.push(`${route} → ${endpoint}`);
    },
  );

  afterAll(() => {
    process.stdout.write(`policy route walk: ${results.length} route/endpoint pairs passed every check\n`);
  });
});
