import { randomBytes } from 'node:crypto';
import { ROLE_PERMISSIONS, Role } from 'src/modules/auth/permissions';
import { bearer, call, JsonResponse } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(240_000);

/**
 * The ownership model as a matrix: every identity × every admin object kind × every owner × every
 * action, against the real app over HTTP. The expected answer of each cell comes from the documented
 * rule (docs/identity-and-access.md, "Tenancy of admin objects"), not from a list of cases:
 *
 * - no permission for the action → 403 (the permission guard);
 * - admins (`tenancy.all`) → 2xx everywhere;
 * - read/list: own team's objects and global ones (limits and budgets: own team's only) → 2xx, else 404;
 * - change/delete: own team's → 2xx, global → 403, another team's → 404.
 */

type Team = 'A' | 'B';
type Owner = Team | 'global';
type Action = 'read' | 'list' | 'update' | 'delete';
type Outcome = 'ok' | 403 | 404;

interface Identity {
  name: string;
  role: Role;
  team: Team | null;
  headers: Record<string, string>;
}

interface Instance {
  /** Path of the object (PUT / DELETE, and GET unless `readPath`). */
  path: string;
  readPath?: string;
  /** What identifies it in the list. */
  id: string;
  /** The objects it was built over (a route's endpoint, a prompt API's template and endpoint). */
  over?: Record<string, string>;
}

interface Kind {
  name: string;
  readPermission: string;
  writePermission: string;
  /** Global objects of this kind are shown to admins only (their contents bound everyone). */
  privateWhenGlobal: boolean;
  owners: readonly Owner[];
  listPath: string;
  /** Ids in a list answer. */
  listed: (body: unknown) => string[];
  create: (owner: Owner) => Promise<Instance>;
  update: (instance: Instance) => { method: string; path: string; body?: unknown };
  remove: (instance: Instance) => { method: string; path: string };
}

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

describe('tenancy matrix: identities × admin objects × actions (real app, HTTP)', () => {
  let gateway: TestGateway;
  const teams: Record<Team, string> = { A: '', B: '' };
  const ids: Record<string, Identity> = {};
  let admin: Identity;
  const api = (method: string, path: string, who: Identity, body?: unknown): Promise<JsonResponse> =>
    call(gateway.url, method, path, who.headers, body);

  async function identity(name: string, role: Role, team: Team | null): Promise<Identity> {
    const principal = await api('POST', '/admin/v1/principals', admin, {
      kind: 'user',
      name,
      teamId: team === null ? null : teams[team],
      roles: [role],
    });
    expect(principal.status).toBe(201);
    const key = await api('POST', '/admin/v1/keys', admin, {
      name: `${name}-key`,
      principalId: principal.body.id,
    });
    expect(key.status).toBe(201);
    return { name, role, team, headers: bearer(key.body.key as string) };
  }

  /** Who creates an object of an owner: its team's operator, or an admin for global ones. */
  const creator = (owner: Owner): Identity => (owner === 'global' ? admin : ids[`operator-${owner}`]);

  const endpointBody = (name: string, model = 'gpt-4o-mini', gatehouse?: Record<string, unknown>) => ({
    name,
    endpoint_type: 'llm/v1/chat',
    model: {
      provider: 'openai',
      name: model,
      config: { openai_api_key: '$secret:matrix-key', openai_api_base: 'https://api.openai.com/v1' },
    },
    ...(gatehouse ? { gatehouse } : {}),
  });

  async function createEndpoint(owner: Owner): Promise<string> {
    const name = unique(`ep-${owner}`);
    const created = await api('POST', '/admin/v1/endpoints', creator(owner), endpointBody(name));
    expect(created.status).toBe(201);
    return name;
  }

  async function createTemplate(owner: Owner): Promise<string> {
    const name = unique(`pt-${owner}`);
    const created = await api('POST', '/admin/v1/prompts', creator(owner), {
      name,
      messages: [{ role: 'user', content: 'Summarise {{text}}' }],
      variables: [{ name: 'text' }],
      labels: ['production'],
    });
    expect(created.status).toBe(201);
    return name;
  }

  /** Limits and budgets are admin-written (`billing.admin`); a team's are bound to that team. */
  const teamScope = (owner: Owner) =>
    owner === 'global' ? { scope: 'global' } : { scope: 'team', subject: teams[owner] };

  const budgetBody = (owner: Owner, amount = 10) => ({
    name: unique('budget'),
    ...teamScope(owner),
    period: 'monthly',
    amount_usd: amount,
    mode: 'soft',
    alert_webhook_url: 'https://hooks.example.com/services/T000/B000/secret-token-123',
  });
  const limitBody = (owner: Owner, limit = 1000) => ({
    ...teamScope(owner),
    metric: 'requests',
    window: 'minute',
    limit,
  });

  const named = (key: string) => (body: unknown) =>
    (body as Record<string, string>[]).map((item) => item[key]);

  const KINDS: Kind[] = [
    {
      name: 'endpoint',
      readPermission: 'routing.read',
      writePermission: 'routing.write',
      privateWhenGlobal: false,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/endpoints',
      listed: named('name'),
      create: async (owner) => {
        const name = await createEndpoint(owner);
        return { path: `/admin/v1/endpoints/${name}`, id: name };
      },
      // The repointing of the finding: another upstream for the same name.
      update: (i) => ({ method: 'PUT', path: i.path, body: endpointBody(i.id, 'gpt-4o') }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'route',
      readPermission: 'routing.read',
      writePermission: 'routing.write',
      privateWhenGlobal: false,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/routes',
      listed: named('name'),
      create: async (owner) => {
        const endpoint = await createEndpoint(owner);
        const name = unique(`rt-${owner}`);
        const created = await api('POST', '/admin/v1/routes', creator(owner), {
          name,
          task_type: 'llm/v1/chat',
          destinations: [{ name: endpoint, traffic_percentage: 100 }],
        });
        expect(created.status).toBe(201);
        return { path: `/admin/v1/routes/${name}`, id: name, over: { endpoint } };
      },
      update: (i) => ({
        method: 'PUT',
        path: i.path,
        body: {
          task_type: 'llm/v1/chat',
          destinations: [{ name: i.over!.endpoint, traffic_percentage: 100 }],
        },
      }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'prompt template',
      readPermission: 'prompts.read',
      writePermission: 'prompts.write',
      privateWhenGlobal: false,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/prompts',
      listed: named('name'),
      create: async (owner) => {
        const name = await createTemplate(owner);
        return { path: `/admin/v1/prompts/${name}`, id: name };
      },
      update: (i) => ({
        method: 'POST',
        path: `${i.path}/versions`,
        body: { messages: [{ role: 'user', content: 'Shorten {{text}}' }], variables: [{ name: 'text' }] },
      }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'prompt API',
      readPermission: 'prompts.read',
      writePermission: 'prompts.write',
      privateWhenGlobal: false,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/prompt-apis',
      listed: named('name'),
      create: async (owner) => {
        const template = await createTemplate(owner);
        const endpoint = await createEndpoint(owner);
        const name = unique(`api-${owner}`);
        const published = await api('PUT', `/admin/v1/prompt-apis/${name}`, creator(owner), {
          template,
          endpoint,
          structured_output: false,
        });
        expect(published.status).toBe(200);
        return { path: `/admin/v1/prompt-apis/${name}`, id: name, over: { template, endpoint } };
      },
      update: (i) => ({
        method: 'PUT',
        path: i.path,
        body: { ...i.over, description: 'republished', structured_output: false },
      }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'cache policy',
      readPermission: 'cache.admin',
      writePermission: 'cache.admin',
      privateWhenGlobal: false,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/cache/policies',
      listed: named('endpoint'),
      create: async (owner) => {
        const endpoint = await createEndpoint(owner);
        return { path: `/admin/v1/cache/policies/${endpoint}`, id: endpoint };
      },
      update: (i) => ({ method: 'PUT', path: i.path, body: { enabled: true, ttl_seconds: 30 } }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'budget',
      readPermission: 'billing.read',
      writePermission: 'billing.admin',
      privateWhenGlobal: true,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/budgets',
      listed: named('id'),
      create: async (owner) => {
        const created = await api('POST', '/admin/v1/budgets', admin, budgetBody(owner));
        expect(created.status).toBe(201);
        return { path: `/admin/v1/budgets/${created.body.id}`, id: created.body.id as string };
      },
      update: (i) => ({ method: 'PUT', path: i.path, body: 'same-owner' }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'limit',
      readPermission: 'billing.admin',
      writePermission: 'billing.admin',
      privateWhenGlobal: true,
      owners: ['A', 'B', 'global'],
      listPath: '/admin/v1/limits',
      listed: named('id'),
      create: async (owner) => {
        const created = await api('POST', '/admin/v1/limits', admin, limitBody(owner));
        expect(created.status).toBe(201);
        return { path: `/admin/v1/limits/${created.body.id}`, id: created.body.id as string };
      },
      update: (i) => ({ method: 'PUT', path: i.path, body: 'same-owner' }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
    {
      name: 'guardrail override',
      readPermission: 'moderation.admin',
      writePermission: 'moderation.admin',
      privateWhenGlobal: true,
      owners: ['A', 'B'],
      listPath: '',
      listed: () => [],
      create: async (owner) => {
        const endpoint = await createEndpoint(owner);
        const team = teams[owner as Team];
        const path = `/admin/v1/moderation/teams/${team}/overrides/${endpoint}`;
        const set = await api('PUT', path, admin, { policy: 'strict' });
        expect(set.status).toBe(200);
        return { path, readPath: `/admin/v1/moderation/teams/${team}/overrides`, id: `${team}/${endpoint}` };
      },
      update: (i) => ({ method: 'PUT', path: i.path, body: { policy: 'strict' } }),
      remove: (i) => ({ method: 'DELETE', path: i.path }),
    },
  ];

  /** Bodies that depend on the instance's owner (a budget stays bound to its team). */
  function resolveBody(kind: Kind, owner: Owner, body: unknown): unknown {
    if (body === 'same-owner') return kind.name === 'budget' ? budgetBody(owner, 20) : limitBody(owner, 2000);
    return body;
  }

  function expected(who: Identity, kind: Kind, owner: Owner, action: Action): Outcome {
    const permission = action === 'read' || action === 'list' ? kind.readPermission : kind.writePermission;
    if (!ROLE_PERMISSIONS[who.role].includes(permission as never)) return 403;
    if (who.role === 'admin') return 'ok';
    const own = owner !== 'global' && owner === who.team;
    if (action === 'read' || action === 'list')
      return own || (owner === 'global' && !kind.privateWhenGlobal) ? 'ok' : 404;
    return own ? 'ok' : owner === 'global' ? 403 : 404;
  }

  beforeAll(async () => {
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
        },
      },
    );
    admin = { name: 'admin', role: 'admin', team: null, headers: gateway.authHeaders() };
    for (const team of ['A', 'B'] as const) {
      const created = await api('POST', '/admin/v1/teams', admin, { name: `team-${team}` });
      expect(created.status).toBe(201);
      teams[team] = created.body.id as string;
    }
    // A global provider key both teams' admin-API endpoints may reference.
    const secret = await api('PUT', '/admin/v1/secrets/matrix-key', admin, {
      value: 'sk-matrix-not-used',
      allowedTeamIds: [teams.A, teams.B],
    });
    expect(secret.status).toBeLessThan(300);
    for (const [name, role, team] of [
      ['operator-A', 'operator', 'A'],
      ['operator-B', 'operator', 'B'],
      ['viewer-A', 'viewer', 'A'],
      ['operator-teamless', 'operator', null],
    ] as const) {
      ids[name] = await identity(name, role, team);
    }
    ids.admin = admin;
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('answers every cell as the ownership model says', async () => {
    const failures: string[] = [];
    let cells = 0;
    const okStatus = (status: number) => status >= 200 && status < 300;
    for (const kind of KINDS) {
      for (const owner of kind.owners) {
        // One instance for the reads; a fresh one for every write cell, so cells stay independent.
        const shared = await kind.create(owner);
        for (const who of Object.values(ids)) {
          for (const action of ['read', 'list', 'update', 'delete'] as const) {
            if (action === 'list' && kind.listPath === '') continue;
            const want = expected(who, kind, owner, action);
            const instance = action === 'read' || action === 'list' ? shared : await kind.create(owner);
            let got: number | 'ok';
            if (action === 'list') {
              const list = await api('GET', kind.listPath, who);
              got =
                list.status === 200
                  ? kind.listed(list.body).includes(instance.id)
                    ? 'ok'
                    : 404
                  : list.status;
            } else if (action === 'read') {
              const read = await api('GET', instance.readPath ?? instance.path, who);
              got = okStatus(read.status) ? 'ok' : read.status;
            } else {
              const op = action === 'update' ? kind.update(instance) : kind.remove(instance);
              const body = 'body' in op ? resolveBody(kind, owner, op.body) : undefined;
              const answer = await api(op.method, op.path, who, body);
              got = okStatus(answer.status) ? 'ok' : answer.status;
            }
            cells++;
            if (got !== want)
              failures.push(`${who.name} ${action} ${kind.name} of ${owner}: got ${got}, want ${want}`);
          }
        }
      }
    }
    console.log(
      `tenancy matrix: ${cells} cells (${Object.keys(ids).length} identities × ${KINDS.length} object kinds × owners × actions), ${failures.length} wrong`,
    );
    expect(failures).toEqual([]);
    expect(cells).toBeGreaterThan(300);
  });

  it('keeps settings that weaken another tenant isolation for admins (operator 403, admin 2xx)', async () => {
    const operator = ids['operator-A'];
    const own = await createEndpoint('A');
    const foreign = await createEndpoint('B');
    const template = await createTemplate('A');
    const foreignTemplate = await createTemplate('B');
    type Case = [string, (who: Identity) => Promise<JsonResponse>];
    const cases: Case[] = [
      [
        'endpoint with gatehouse.moderation: none',
        (who) =>
          api(
            'POST',
            '/admin/v1/endpoints',
            who,
            endpointBody(unique('nomod'), 'gpt-4o-mini', { moderation: 'none' }),
          ),
      ],
      [
        'moderation turned off on an existing endpoint',
        (who) =>
          api(
            'PUT',
            `/admin/v1/endpoints/${own}?dry_run=true`,
            who,
            endpointBody(own, 'gpt-4o-mini', { moderation: false }),
          ),
      ],
      [
        'endpoint caching across teams (gatehouse.cache.scope: global)',
        (who) =>
          api(
            'POST',
            '/admin/v1/endpoints',
            who,
            endpointBody(unique('gcache'), 'gpt-4o-mini', { cache: { scope: 'global' } }),
          ),
      ],
      [
        'cache policy scope: global',
        (who) => api('PUT', `/admin/v1/cache/policies/${own}`, who, { scope: 'global' }),
      ],
      [
        "route to another team's endpoint",
        (who) =>
          api('POST', '/admin/v1/routes', who, {
            name: unique('cross'),
            task_type: 'llm/v1/chat',
            destinations: [
              { name: own, traffic_percentage: 50 },
              { name: foreign, traffic_percentage: 50 },
            ],
          }),
      ],
      [
        "fallback to another team's endpoint",
        (who) =>
          api(
            'POST',
            '/admin/v1/endpoints',
            who,
            endpointBody(unique('fb'), 'gpt-4o-mini', { fallbacks: [foreign] }),
          ),
      ],
      [
        // Another team's endpoint does not exist for the operator: refused as unknown (400), no oracle.
        "prompt API over another team's endpoint (400)",
        (who) =>
          api('PUT', `/admin/v1/prompt-apis/${unique('xapi')}`, who, {
            template,
            endpoint: foreign,
            structured_output: false,
          }),
      ],
      [
        // Another team's template is answered like a missing one (400), so names are no oracle.
        "endpoint bound to another team's prompt template (400)",
        (who) =>
          api(
            'POST',
            '/admin/v1/endpoints',
            who,
            endpointBody(unique('xprompt'), 'gpt-4o-mini', { prompt: { template: foreignTemplate } }),
          ),
      ],
      [
        "invalidating another team's cache",
        (who) => api('POST', '/admin/v1/cache/invalidations', who, { team_id: teams.B }),
      ],
      ['invalidating every cache', (who) => api('POST', '/admin/v1/cache/invalidations', who, { all: true })],
    ];
    let cells = 0;
    for (const [name, attempt] of cases) {
      const refused = await attempt(operator);
      expect({ name, status: refused.status }).toEqual({ name, status: name.endsWith('(400)') ? 400 : 403 });
      const allowed = await attempt(admin);
      expect({ name, status: allowed.status >= 200 && allowed.status < 300 }).toEqual({ name, status: true });
      cells += 2;
    }
    // Its own team's template binds; a missing one is refused with the same words as another team's.
    const bound = await api(
      'POST',
      '/admin/v1/endpoints',
      operator,
      endpointBody(unique('ownprompt'), 'gpt-4o-mini', { prompt: { template } }),
    );
    expect(bound.status).toBe(201);
    const missing = await api(
      'POST',
      '/admin/v1/endpoints',
      operator,
      endpointBody(unique('noprompt'), 'gpt-4o-mini', { prompt: { template: unique('nosuch') } }),
    );
    const foreign2 = await api(
      'POST',
      '/admin/v1/endpoints',
      operator,
      endpointBody(unique('xprompt'), 'gpt-4o-mini', { prompt: { template: foreignTemplate } }),
    );
    expect([missing.status, foreign2.status]).toEqual([400, 400]);
    const words = (r: JsonResponse) => {
      const { message, code } = r.body as { message: string; code: string };
      return `${code}: ${message.replace(/'[^']*'/g, "'…'")}`;
    };
    expect(words(foreign2)).toBe(words(missing));
    // Within its own team an operator still works: its own invalidation, its own cache policy.
    const mine = await api('POST', '/admin/v1/cache/invalidations', operator, { endpoint: own });
    expect(mine.status).toBe(200);
    expect(
      (await api('PUT', `/admin/v1/cache/policies/${own}`, operator, { scope: 'team', ttl_seconds: 60 }))
        .status,
    ).toBe(200);
    console.log(`isolation settings: ${cells + 2} cells`);
  });

  it("operator B cannot repoint team A's endpoint (the config stays as team A left it)", async () => {
    const name = await createEndpoint('A');
    const hijack = endpointBody(name, 'gpt-4o-mini');
    hijack.model.config.openai_api_base = 'http://127.0.0.1:9/v1';
    const attempt = await api('PUT', `/admin/v1/endpoints/${name}`, ids['operator-B'], hijack);
    expect(attempt.status).toBe(404);
    const rollback = await api('POST', `/admin/v1/endpoints/${name}/rollback`, ids['operator-B'], {
      revision: 1,
    });
    expect(rollback.status).toBe(404);
    const after = await api('GET', `/admin/v1/endpoints/${name}`, ids['operator-A']);
    expect(after.body.entry.model.config.openai_api_base).toBe('https://api.openai.com/v1');
    // Nor does team B see it, its revisions, or its cache policy.
    for (const path of [
      `/admin/v1/endpoints/${name}`,
      `/admin/v1/endpoints/${name}/revisions`,
      `/admin/v1/cache/policies/${name}`,
    ]) {
      expect((await api('GET', path, ids['operator-B'])).status).toBe(404);
    }
  });

  it("rollouts follow their route's owner: team B neither sees nor steers team A's rollout", async () => {
    const operatorA = ids['operator-A'];
    const operatorB = ids['operator-B'];
    const started = await api('POST', '/admin/v1/rollouts', operatorA, {
      route: unique('ro-A'),
      baseline: await createEndpoint('A'),
      canary: await createEndpoint('A'),
      steps: [10, 100],
      hold_seconds: 3600,
    });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    expect((await api('GET', `/admin/v1/rollouts/${id}`, operatorB)).status).toBe(404);
    const listed = (await api('GET', '/admin/v1/rollouts', operatorB)).body as { id: string }[];
    expect(listed.map((r) => r.id)).not.toContain(id);
    for (const action of ['pause', 'resume', 'abort']) {
      expect((await api('POST', `/admin/v1/rollouts/${id}/${action}`, operatorB)).status).toBe(404);
    }
    // A rollout of team A over team B's canary is an admin's call.
    const cross = await api('POST', '/admin/v1/rollouts', operatorA, {
      route: unique('ro-x'),
      baseline: await createEndpoint('A'),
      canary: await createEndpoint('B'),
      steps: [10, 100],
      hold_seconds: 3600,
    });
    expect(cross.status).toBe(403);
    expect((await api('POST', `/admin/v1/rollouts/${id}/pause`, operatorA)).status).toBe(200);
    expect((await api('GET', `/admin/v1/rollouts/${id}`, admin)).body.state).toBe('paused');
  });

  it("a team-A viewer reads neither team B's budgets nor anyone's alert webhook", async () => {
    const ofA = await api('POST', '/admin/v1/budgets', admin, budgetBody('A'));
    const ofB = await api('POST', '/admin/v1/budgets', admin, budgetBody('B'));
    expect([ofA.status, ofB.status]).toEqual([201, 201]);
    const viewer = ids['viewer-A'];
    const list = await api('GET', '/admin/v1/budgets', viewer);
    expect(list.status).toBe(200);
    const listed = list.body as { id: string; alert_webhook_url: string | null; team_id: string | null }[];
    expect(listed.map((b) => b.id)).toContain(ofA.body.id);
    expect(listed.map((b) => b.id)).not.toContain(ofB.body.id);
    expect(listed.every((b) => b.team_id === teams.A)).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain('secret-token-123');
    expect(listed.find((b) => b.id === ofA.body.id)?.alert_webhook_url).toBe('[redacted]');
    expect((await api('GET', `/admin/v1/budgets/${ofB.body.id}`, viewer)).status).toBe(404);
    expect((await api('GET', `/admin/v1/budgets/${ofB.body.id}/status`, viewer)).status).toBe(404);
    const status = await api('GET', '/admin/v1/budgets/status', viewer);
    expect((status.body as { budget_id: string }[]).map((s) => s.budget_id)).not.toContain(ofB.body.id);
    // Admins see the webhook.
    const full = await api('GET', `/admin/v1/budgets/${ofB.body.id}`, admin);
    expect(full.body.alert_webhook_url).toContain('secret-token-123');
  });
});
