import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { call, chatBody } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import {
  checkScreen,
  openScreen,
  signInWithKey,
  until,
  textOf,
  launchChromium,
  PageWatch,
  prepareConsole,
} from 'test/e2e/console/browser';

/**
 * The console's operations screens in Debian's chromium: limits and budgets (with a budget's burn after
 * real traffic), progressive rollouts (live judge figures, pause/resume/abort), guardrail policies with
 * the dry-run tester, the response cache's counters, prompt templates (versions, labels, diffs) and the model registry; each screenshotted and checked with axe-core;
 * a viewer sees the read-only parts only.
 */
jest.setTimeout(180_000);

const WAIT = 30_000;

interface Arm {
  requests: number;
  errors: number;
  error_rate: number;
  p95_ms: number | null;
}
interface RolloutView {
  id: string;
  state: string;
  canary_percentage: number;
  last_evaluation: { baseline: Arm; canary: Arm } | null;
}

/**
 * MLflow's two registry search routes as its REST API answers them (one page each): the registry
 * screen only shows what the gateway synced; a real MLflow is exercised in test/e2e/registry.
 */
async function startRegistryStub(): Promise<{ url: string; close: () => Promise<void> }> {
  const answers: Record<string, unknown> = {
    '/api/2.0/mlflow/registered-models/search': {
      registered_models: [
        {
          name: 'churn',
          description: 'Churn scorer',
          aliases: [{ alias: 'champion', version: '2' }],
          last_updated_timestamp: 1_760_000_000_000,
        },
      ],
    },
    '/api/2.0/mlflow/model-versions/search': {
      model_versions: [
        { name: 'churn', version: '1', status: 'READY', current_stage: 'Archived', run_id: 'run-one' },
        { name: 'churn', version: '2', status: 'READY', current_stage: 'None', run_id: 'run-two' },
      ],
    },
  };
  const server: Server = createServer((req, res) => {
    const answer = answers[new URL(req.url ?? '/', 'http://stub').pathname];
    res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer ?? { error_code: 'ENDPOINT_NOT_FOUND' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('web console operations screens (browser)', () => {
  let gateway: TestGateway;
  let stable: OpenAIMock;
  let candidate: OpenAIMock;
  let registry: Awaited<ReturnType<typeof startRegistryStub>>;
  let browser: Browser;
  let admin: Page;
  let adminWatch: PageWatch;
  const contexts: BrowserContext[] = [];

  const signedIn = (key: string) => signInWithKey(browser, contexts, gateway.url, key);
  const open = (page: Page, screen: string, heading: string) =>
    openScreen(page, gateway.url, screen, heading);

  const get = async <T>(path: string): Promise<T> =>
    (await call<T>(gateway.url, 'GET', path, gateway.authHeaders())).body;
  const chat = async (model: string) =>
    (await call(gateway.url, 'POST', '/v1/chat/completions', gateway.authHeaders(), chatBody(model))).status;

  beforeAll(async () => {
    const chromiumPath = await prepareConsole();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    [stable, candidate] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
    registry = await startRegistryStub();
    const yaml = `
gatehouse:
  moderation:
    policies:
      standard:
        input:
          - {type: pii, action: redact, mode: placeholder}
          - {type: deny-list, keywords: [project nightingale]}
      strict:
        input:
          - {type: pii, action: block, entities: [card, iban, ssn]}
endpoints:
${openaiEndpoint('stable', 'gpt-4o-mini', stable.url, 'llm/v1/chat', '    gatehouse:\n      moderation: strict\n')}${openaiEndpoint('candidate', 'gpt-4o-mini', candidate.url)}${openaiEndpoint('cached', 'gpt-4o-mini', stable.url, 'llm/v1/chat', '    gatehouse:\n      cache: {ttl_seconds: 600}\n')}
`;
    gateway = await startGateway(yaml, {
      env: { ROLLOUT_TICK_MS: '200', ROLLOUT_STATS_FLUSH_MS: '200', MLFLOW_TRACKING_URI: registry.url },
    });
    browser = await launchChromium(chromiumPath);
    ({ page: admin, w: adminWatch } = await signedIn(gateway.apiKey));
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await gateway?.close();
    await Promise.all([stable?.close(), candidate?.close(), registry?.close()]);
  });

  it('adds, edits and removes a limit, and shows a budget burning after traffic', async () => {
    await open(admin, 'limits', 'Limits and budgets');
    const limitForm = admin.getByTestId('limit-form');
    await limitForm.locator('select[name=scope]').selectOption('endpoint');
    await limitForm.getByLabel('Endpoint name (empty: each separately)').fill('stable');
    await limitForm.locator('select[name=window]').selectOption({ label: 'minute' });
    await limitForm.getByLabel('Limit', { exact: true }).fill('500');
    await limitForm.getByRole('button', { name: 'Add limit' }).click();
    await textOf(admin.getByTestId('limits-message'), /^Limit added: 500 requests\.$/);
    type Limit = {
      id: string;
      scope: string;
      subject: string;
      metric: string;
      window_seconds: number;
      limit: number;
    };
    const [limit] = (await get<Limit[]>('/admin/v1/limits')).filter((l) => l.subject === 'stable');
    expect(limit).toMatchObject({ scope: 'endpoint', metric: 'requests', window_seconds: 60, limit: 500 });
    const row = admin.locator(`tr[data-limit="${limit.id}"]`);
    // The message shows before the list is read again: wait for the new row.
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('th, td').allTextContents()).toEqual([
      'endpoint stable',
      'all',
      'requests',
      '500 per minute',
      'admin API',
      'EditRemove',
    ]);

    await row.getByRole('button', { name: 'Edit' }).click();
    await admin.getByRole('heading', { name: 'Edit limit' }).waitFor({ timeout: WAIT });
    expect(await limitForm.getByLabel('Limit', { exact: true }).inputValue()).toBe('500');
    await limitForm.getByLabel('Limit', { exact: true }).fill('750');
    await limitForm.locator('select[name=window]').selectOption({ label: 'hour' });
    await limitForm.getByRole('button', { name: 'Save limit' }).click();
    await textOf(admin.getByTestId('limits-message'), /^Limit saved: 750 requests\.$/);
    expect(await get<Limit>(`/admin/v1/limits/${limit.id}`)).toMatchObject({
      limit: 750,
      window_seconds: 3600,
    });
    await textOf(row.locator('td').nth(2), /^750 per hour$/);

    // A global daily budget, then one call through the gateway: its cost shows as burn.
    const budgetForm = admin.getByTestId('budget-form');
    await budgetForm.getByLabel('Budget name').fill('daily-cap');
    await budgetForm.locator('select[name=period]').selectOption('daily');
    await budgetForm.getByLabel('Amount (USD)').fill('5');
    await budgetForm.getByRole('button', { name: 'Add budget' }).click();
    await textOf(admin.getByTestId('limits-message'), /^Budget daily-cap added\.$/);
    const budgetRow = admin.locator('tr[data-budget="daily-cap"]');
    await textOf(budgetRow.getByTestId('burn'), /^\s*\$0\.00 \(0%\)$/);

    expect(await chat('stable')).toBe(200);
    type Status = { name: string; spent_usd: number };
    const spent = await until(
      async () => (await get<Status[]>('/admin/v1/budgets/status')).find((s) => s.name === 'daily-cap'),
      (s) => (s?.spent_usd ?? 0) > 0,
    );
    await admin.reload();
    // Cents would round a cheap call to $0.00: below a cent the console shows six decimals.
    const shown = `$${spent!.spent_usd.toFixed(6)} (0%)`;
    expect((await textOf(budgetRow.getByTestId('burn'), /\$0\.0000/)).trim()).toBe(shown);
    expect(Number(await budgetRow.locator('meter').getAttribute('value'))).toBeCloseTo(
      spent!.spent_usd / 5,
      12,
    );
    await checkScreen(admin, adminWatch, '16-limits-budgets');

    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Remove' }).click();
    await textOf(admin.getByTestId('limits-message'), /^Limit on endpoint stable removed\.$/);
    expect(
      (await call(gateway.url, 'GET', `/admin/v1/limits/${limit.id}`, gateway.authHeaders())).status,
    ).toBe(404);
  });

  it('shows a rollout live with the judge figures, and pauses, resumes and aborts it', async () => {
    // The route is created by the rollout (routes from gateway.yaml change with the file only).
    const created = await call<RolloutView>(
      gateway.url,
      'POST',
      '/admin/v1/rollouts',
      gateway.authHeaders(),
      {
        route: 'canary-route',
        baseline: 'stable',
        canary: 'candidate',
        steps: [50, 100],
        // Held long enough to stay on step 1 while the test watches; latency judged with room for a busy machine.
        hold_seconds: 3600,
        min_requests: 5,
        max_p95_latency_ratio: 100,
        p95_latency_slack_ms: 10_000,
      },
    );
    expect(created.status).toBe(201);
    const id = created.body.id;
    for (let i = 0; i < 20; i++) expect(await chat('canary-route')).toBe(200);
    const judged = await until(
      () => get<RolloutView>(`/admin/v1/rollouts/${id}`),
      (r) => (r.last_evaluation?.baseline.requests ?? 0) + (r.last_evaluation?.canary.requests ?? 0) === 20,
    );

    await open(admin, 'rollouts', 'Rollouts');
    const row = admin.locator(`tr[data-rollout="${id}"]`);
    await textOf(row.getByTestId('stage'), /^step 1 of 2 \(50% canary\)$/);
    const shown = (a: Arm) =>
      `${(a.error_rate * 100).toFixed(1)}% errors of ${a.requests}, p95 ${a.p95_ms === null ? '—' : `${Math.round(a.p95_ms)} ms`}`;
    const { baseline, canary } = judged.last_evaluation!;
    expect([baseline.errors, canary.errors]).toEqual([0, 0]);
    expect(await row.getByTestId('baseline-arm').textContent()).toBe(shown(baseline));
    expect(await row.getByTestId('canary-arm').textContent()).toBe(shown(canary));
    await checkScreen(admin, adminWatch, '17-rollouts');

    await row.getByRole('button', { name: 'Pause' }).click();
    await textOf(admin.getByTestId('rollouts-message'), /^Rollout on canary-route: paused at 50% canary\.$/);
    expect((await get<RolloutView>(`/admin/v1/rollouts/${id}`)).state).toBe('paused');
    await row.getByRole('button', { name: 'Resume' }).click();
    await textOf(admin.getByTestId('rollouts-message'), /^Rollout on canary-route: running at 50% canary\.$/);
    expect((await get<RolloutView>(`/admin/v1/rollouts/${id}`)).state).toBe('running');

    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Abort' }).click();
    await textOf(admin.getByTestId('rollouts-message'), /^Rollout on canary-route: aborted at 0% canary\.$/);
    expect(await get<RolloutView>(`/admin/v1/rollouts/${id}`)).toMatchObject({
      state: 'aborted',
      canary_percentage: 0,
    });
    expect(await row.getByRole('button').count()).toBe(0);
    // All traffic back on the baseline.
    const before = candidate.requests.length;
    for (let i = 0; i < 5; i++) expect(await chat('canary-route')).toBe(200);
    expect(candidate.requests.length).toBe(before);
  });

  it('lists guardrail policies and dry-runs a sample text against a policy and an endpoint', async () => {
    await open(admin, 'guardrails', 'Guardrails');
    const policies = admin.getByTestId('policies-table');
    await policies.locator('tr[data-policy="standard"]').waitFor({ timeout: WAIT });
    expect(await policies.locator('tr[data-policy="standard"] td').allTextContents()).toEqual([
      'pii, deny-list',
      '—',
      expect.stringMatching(/^\d+ characters$/),
    ]);
    await admin.getByTestId('guarded-endpoints').locator('tbody tr').first().waitFor({ timeout: WAIT });
    const guarded = await admin.getByTestId('guarded-endpoints').locator('tbody tr').allTextContents();
    expect(guarded).toEqual(expect.arrayContaining(['stablestrict', 'candidatenone']));

    const form = admin.getByTestId('dry-run');
    await form.locator('select[name=target]').selectOption('policy:standard');
    await form.getByLabel('Sample text').fill('pay with 4111 1111 1111 1111');
    await form.getByRole('button', { name: 'Run the check' }).click();
    await textOf(admin.getByTestId('verdict-action'), /^redact$/);
    expect(await admin.getByTestId('verdict-text').textContent()).toBe('pay with <<PII_CARD_1>>');
    expect(await admin.getByTestId('verdict').textContent()).toContain('by policy standard (named)');

    await form.locator('select[name=target]').selectOption('endpoint:stable');
    await form.getByRole('button', { name: 'Run the check' }).click();
    await textOf(admin.getByTestId('verdict-action'), /^block$/);
    expect(await admin.getByTestId('verdict-blocked').textContent()).toBe(
      "Guardrail 'pii' blocked: the request contains payment card number.",
    );
    expect(await admin.getByTestId('verdict-text').count()).toBe(0);
    expect(await admin.getByTestId('verdict-checks').locator('tbody th').allTextContents()).toEqual(['pii']);
    await checkScreen(admin, adminWatch, '18-guardrails');
  });

  it('shows the cache counters the API reports, the policies, and clears an endpoint', async () => {
    const ask = async () =>
      (
        await call(gateway.url, 'POST', '/v1/chat/completions', gateway.authHeaders(), {
          model: 'cached',
          messages: [{ role: 'user', content: 'the same question' }],
          temperature: 0,
        })
      ).status;
    expect([await ask(), await ask()]).toEqual([200, 200]);
    type Stats = { hits: number; misses: number; tokens_saved: number; held: { entries: number } };
    const stats = await get<Stats>('/admin/v1/cache/stats');
    expect([stats.hits, stats.misses, stats.held.entries]).toEqual([1, 1, 1]);

    await open(admin, 'cache', 'Response cache');
    const card = (name: string) => admin.getByTestId('cache-stats').locator(`dd[data-stat="${name}"]`);
    await textOf(card('hits'), /^1$/);
    expect(await card('misses').textContent()).toBe('1');
    expect(await card('ratio').textContent()).toBe('50.0%');
    expect(await card('tokens').textContent()).toBe(stats.tokens_saved.toLocaleString('en-US'));
    expect(stats.tokens_saved).toBeGreaterThan(0);
    expect(await card('held').textContent()).toMatch(/^1 entry, \d+(\.\d)? (B|KiB)$/);
    const row = admin.getByTestId('cache-policies').locator('tr[data-endpoint="cached"]');
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('td').allTextContents()).toEqual([
      'on, 600 s',
      'team',
      'deterministic',
      'gateway.yaml',
      'Edit cachedClear cached',
    ]);
    expect(
      await admin
        .getByTestId('cache-policies')
        .locator('tr[data-endpoint="stable"] td')
        .first()
        .textContent(),
    ).toBe('off');
    await checkScreen(admin, adminWatch, '19-cache');

    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Clear cached' }).click();
    await textOf(admin.getByTestId('cache-message'), /^endpoint cached: 1 cached answers deleted\.$/);
    expect((await get<Stats>('/admin/v1/cache/stats')).held.entries).toBe(0);
    await textOf(card('held'), /^0 entries/);
  });

  it("shows an operator the cache without clearing every team's entries", async () => {
    const operator = await member(gateway, 'cache-ops', ['operator']);
    const { page } = await signedIn(operator.key);
    await open(page, 'cache', 'Response cache');
    await page.getByTestId('cache-policies').locator('tr[data-endpoint="cached"]').waitFor({ timeout: WAIT });
    expect(await page.getByRole('button', { name: 'Clear cached' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Clear the whole cache' }).count()).toBe(0);
  });

  it("shows a prompt template's versions and labels, diffs two versions and moves a label", async () => {
    const version = (content: string) => ({
      messages: [
        { role: 'system', content },
        { role: 'user', content: '{{question}}' },
      ],
      variables: [{ name: 'question', type: 'string', required: true }],
    });
    const headers = gateway.authHeaders();
    const created = await call(gateway.url, 'POST', '/admin/v1/prompts', headers, {
      name: 'support-reply',
      description: 'Support answers',
      ...version('You are a polite support agent.'),
      labels: ['production'],
      commit_message: 'first',
    });
    expect(created.status).toBe(201);
    const second = await call(gateway.url, 'POST', '/admin/v1/prompts/support-reply/versions', headers, {
      ...version('You are a terse support agent.'),
      labels: ['staging'],
      commit_message: 'terser',
    });
    expect(second.status).toBe(201);

    await open(admin, 'prompts', 'Prompt templates');
    const row = admin.locator('tr[data-template="support-reply"]');
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('td').allTextContents()).toEqual([
      'Support answers',
      'v2',
      'production → v1, staging → v2',
    ]);
    await row.getByRole('link', { name: 'support-reply' }).click();
    const detail = admin.getByTestId('prompt-detail');
    await textOf(detail.getByTestId('version-view').locator('h3'), /^Version 2 \(staging\)$/);
    expect(await detail.getByTestId('message-content').allTextContents()).toEqual([
      'You are a terse support agent.',
      '{{question}}',
    ]);
    expect(await detail.getByTestId('variables').textContent()).toBe(
      'Variables: question (string, required)',
    );
    expect(await detail.locator('tr[data-version="1"] td').allTextContents()).toEqual([
      'first',
      expect.any(String),
      'production',
      'Show v1',
    ]);

    // The default comparison is the latest version against the one before.
    await detail.getByRole('button', { name: 'Compare' }).click();
    const patch = await textOf(detail.getByTestId('prompt-diff'), /terse/);
    const changed = patch.split('\n').filter((l) => /^[+-][^+-]/.test(l));
    expect(changed).toEqual(['-You are a polite support agent.', '+You are a terse support agent.']);
    expect(await detail.locator('figcaption').textContent()).toBe('v1 → v2: messages changed');

    // Promote v2 to production.
    const move = detail.getByTestId('move-label');
    await move.getByLabel('Label').fill('production');
    await move.locator('select[name=labelVersion]').selectOption('2');
    await move.getByRole('button', { name: 'Move label' }).click();
    await textOf(detail.getByTestId('prompt-message'), /^Label production now points at v2\.$/);
    const after = await get<{ labels: Record<string, number> }>('/admin/v1/prompts/support-reply');
    expect(after.labels).toEqual({ production: 2, staging: 2 });
    await textOf(detail.locator('tr[data-version="2"] td').nth(2), /^production, staging$/);
    await textOf(row.locator('td').nth(2), /^production → v2, staging → v2$/);
    await checkScreen(admin, adminWatch, '20-prompts');
  });

  it("syncs the model registry on demand and shows a model's aliases and versions", async () => {
    await open(admin, 'models', 'Model registry');
    await admin.getByRole('button', { name: 'Sync now' }).click();
    await textOf(admin.getByTestId('registry-message'), /^Sync (synced|unchanged): 1 models, 2 versions\.$/);
    const row = admin.locator('tr[data-model="churn"]');
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('td').allTextContents()).toEqual([
      'Churn scorer',
      'champion → v2',
      'v2',
      '2',
      '—',
    ]);
    await textOf(admin.getByTestId('registry-state'), /^Registry ok, last synced /);
    await row.getByRole('link', { name: 'churn' }).click();
    const versions = admin.getByTestId('model-versions');
    await versions.locator('tr[data-version="2"]').waitFor({ timeout: WAIT });
    expect(await versions.locator('tbody tr').allTextContents()).toEqual([
      'v2READYNonechampion—run-two',
      'v1READYArchived——run-one',
    ]);
    await checkScreen(admin, adminWatch, '21-models');
  });

  it("shows a viewer its team's budgets, rollouts and prompts read-only, and no limits, guardrails or cache", async () => {
    const viewer = await member(gateway, 'watchers', ['viewer']);
    const budget = await call(gateway.url, 'POST', '/admin/v1/budgets', gateway.authHeaders(), {
      name: 'watchers-monthly',
      scope: 'team',
      subject: viewer.teamId,
      period: 'monthly',
      amount_usd: 20,
    });
    expect(budget.status).toBe(201);
    const { page, w } = await signedIn(viewer.key);
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(nav).toEqual([
      'Dashboard',
      'Endpoints',
      'Routing config',
      'Rollouts',
      'Prompts',
      'Models',
      'Portal',
      'Limits and budgets',
    ]);

    await open(page, 'limits', 'Limits and budgets');
    const rows = page.getByTestId('budgets-table').locator('tbody tr');
    await textOf(rows, /watchers-monthly/);
    // Global budgets bound every team: only admins see them.
    expect(await rows.count()).toBe(1);
    expect(await page.getByTestId('budgets-table').locator('tbody tr th').allTextContents()).toEqual([
      'watchers-monthly',
    ]);
    for (const part of ['limits-table', 'limit-form', 'budget-form'])
      expect([part, await page.getByTestId(part).count()]).toEqual([part, 0]);
    expect(await page.getByRole('button', { name: /Edit|Remove/ }).count()).toBe(0);
    await checkScreen(page, w, '22-viewer-limits');

    await open(page, 'rollouts', 'Rollouts');
    await page.getByTestId('rollouts-table').locator('tbody tr').first().waitFor({ timeout: WAIT });
    expect(await page.getByTestId('rollouts-table').getByRole('button').count()).toBe(0);

    await page.goto(`${gateway.url}/ui/#/prompts/support-reply`);
    await page.getByTestId('versions-table').locator('tr[data-version="2"]').waitFor({ timeout: WAIT });
    expect(await page.getByTestId('move-label').count()).toBe(0);

    await open(page, 'models', 'Model registry');
    await page.locator('tr[data-model="churn"]').waitFor({ timeout: WAIT });
    expect(await page.getByRole('button', { name: 'Sync now' }).count()).toBe(0);

    for (const screen of ['guardrails', 'cache']) {
      await page.goto(`${gateway.url}/ui/#/${screen}`);
      await textOf(page.getByTestId('forbidden'), /does not give access/);
    }
  });
});
