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
  launchChromium,
  PageWatch,
  prepareConsole,
  textOf,
} from 'test/e2e/console/browser';

/**
 * The console's write actions that used to be API calls only, each performed in Debian's chromium and
 * checked through the API: starting a rollout, a team's guardrail override (which changes a dry-run
 * verdict), an endpoint's cache policy, a new prompt template and version (rendered), and each limit's
 * usage. A viewer and an operator of another team neither see nor perform them.
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
  route: string;
  state: string;
  steps: number[];
  hold_seconds: number[];
  canary_percentage: number;
  limits: Record<string, number>;
  last_evaluation: { baseline: Arm; canary: Arm } | null;
}

describe('web console write actions (browser)', () => {
  let gateway: TestGateway;
  let stable: OpenAIMock;
  let candidate: OpenAIMock;
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
    const yaml = `
gatehouse:
  moderation:
    policies:
      strict:
        input:
          - {type: pii, action: block, entities: [card, iban, ssn]}
endpoints:
${openaiEndpoint('stable', 'gpt-4o-mini', stable.url)}${openaiEndpoint('candidate', 'gpt-4o-mini', candidate.url)}${openaiEndpoint('metered', 'gpt-4o-mini', stable.url)}
`;
    gateway = await startGateway(yaml, { env: { ROLLOUT_TICK_MS: '200', ROLLOUT_STATS_FLUSH_MS: '200' } });
    browser = await launchChromium(chromiumPath);
    ({ page: admin, w: adminWatch } = await signedIn(gateway.apiKey));
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await gateway?.close();
    await Promise.all([stable?.close(), candidate?.close()]);
  });

  it('starts a rollout from the form and shows it live with the judge figures', async () => {
    await open(admin, 'rollouts', 'Rollouts');
    const form = admin.getByTestId('start-rollout');
    // The endpoints arrive asynchronously: wait for the options.
    await textOf(form.locator('select[name=canary]'), /candidate/);
    await form.getByLabel('Route (an existing traffic route, or a new one)').fill('ui-route');
    await form.locator('select[name=baseline]').selectOption('stable');
    await form.locator('select[name=canary]').selectOption('candidate');
    await form.getByLabel('Canary share per step, % (ending at 100)').fill('50, 100');
    // Held long enough to stay on step 1 while the test watches; latency judged with room for a busy machine.
    await form.getByLabel('Hold each step (seconds; one, or one per step)').fill('3600');
    await form.getByLabel('Roll back when the canary errs more by (percentage points)').fill('10');
    await form.getByLabel('Roll back when canary p95 exceeds baseline p95 times').fill('100');
    await form.getByLabel('p95 latency slack (ms)').fill('10000');
    await form.getByLabel('Judge after at least (requests per side)').fill('5');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    await textOf(
      admin.getByTestId('rollouts-message'),
      /^Rollout on ui-route started: stable → candidate, step 1 of 2 \(50% canary\)\.$/,
    );
    const [started] = (await get<RolloutView[]>('/admin/v1/rollouts')).filter((r) => r.route === 'ui-route');
    expect(started).toMatchObject({
      state: 'running',
      steps: [50, 100],
      hold_seconds: [3600, 3600],
      canary_percentage: 50,
      limits: {
        max_error_rate_delta: 0.1,
        max_p95_latency_ratio: 100,
        p95_latency_slack_ms: 10_000,
        min_requests: 5,
      },
    });

    for (let i = 0; i < 20; i++) expect(await chat('ui-route')).toBe(200);
    const judged = await until(
      () => get<RolloutView>(`/admin/v1/rollouts/${started.id}`),
      (r) => (r.last_evaluation?.baseline.requests ?? 0) + (r.last_evaluation?.canary.requests ?? 0) === 20,
    );
    const { baseline, canary } = judged.last_evaluation!;
    expect([
      baseline.errors,
      canary.errors,
      stable.requests.length > 0,
      candidate.requests.length > 0,
    ]).toEqual([0, 0, true, true]);
    const row = admin.locator(`tr[data-rollout="${started.id}"]`);
    await textOf(row.getByTestId('canary-arm'), new RegExp(`^0\\.0% errors of ${canary.requests}, p95 `));
    await textOf(row.getByTestId('baseline-arm'), new RegExp(`^0\\.0% errors of ${baseline.requests}, p95 `));
    await textOf(row.getByTestId('stage'), /^step 1 of 2 \(50% canary\)$/);

    // The API's refusal is shown in the form: the steps must end at 100.
    await form.getByLabel('Route (an existing traffic route, or a new one)').fill('other-route');
    await form.locator('select[name=baseline]').selectOption('stable');
    await form.locator('select[name=canary]').selectOption('candidate');
    await form.getByLabel('Canary share per step, % (ending at 100)').fill('10, 50');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    expect(await textOf(form.locator('p.error'), /100/)).toMatch(/steps/);
    expect((await get<RolloutView[]>('/admin/v1/rollouts')).map((r) => r.route)).toEqual(['ui-route']);
    await checkScreen(admin, adminWatch, '23-rollout-start');
  });

  it("sets a team's guardrail override, which changes the dry-run verdict, and removes it", async () => {
    const team = await member(gateway, 'guarded', ['developer']);
    await open(admin, 'guardrails', 'Guardrails');
    const dryRun = admin.getByTestId('dry-run');
    const verdict = async () => {
      await dryRun.locator('select[name=target]').selectOption('endpoint:candidate');
      await dryRun.getByLabel('As team (its override applies; optional)').fill(team.teamId);
      await dryRun.getByLabel('Sample text').fill('pay with 4111 1111 1111 1111');
      await dryRun.getByRole('button', { name: 'Run the check' }).click();
    };
    await verdict();
    await textOf(admin.getByTestId('verdict'), /no policy applies/);
    expect(await admin.getByTestId('verdict-action').textContent()).toBe('allow');

    await admin.locator('select[name=overrideTeam]').selectOption({ label: 'guarded' });
    await textOf(admin.getByText('No overrides for guarded.'), /No overrides/);
    const form = admin.getByTestId('set-override');
    await form.locator('select[name=endpoint]').selectOption('candidate');
    await form.locator('select[name=policy]').selectOption('strict');
    await form.getByRole('button', { name: 'Set override' }).click();
    await textOf(admin.getByTestId('overrides-message'), /^guarded now gets policy strict on candidate\.$/);
    type Override = { team: string; endpoint: string; policy: unknown };
    expect(await get<Override[]>(`/admin/v1/moderation/teams/${team.teamId}/overrides`)).toEqual([
      expect.objectContaining({ team: team.teamId, endpoint: 'candidate', policy: 'strict' }),
    ]);
    const row = admin.getByTestId('overrides-table').locator('tr[data-override="candidate"]');
    await textOf(row.locator('td').first(), /^strict$/);

    await verdict();
    await textOf(admin.getByTestId('verdict-action'), /^block$/);
    expect(await admin.getByTestId('verdict-blocked').textContent()).toBe(
      "Guardrail 'pii' blocked: the request contains payment card number.",
    );
    await checkScreen(admin, adminWatch, '24-guardrail-overrides');

    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Remove candidate' }).click();
    await textOf(admin.getByTestId('overrides-message'), /^Override of guarded on candidate removed\.$/);
    expect(await get<Override[]>(`/admin/v1/moderation/teams/${team.teamId}/overrides`)).toEqual([]);
    await verdict();
    await textOf(admin.getByTestId('verdict-action'), /^allow$/);
  });

  it("edits an endpoint's cache policy and removes the override", async () => {
    type PolicyView = { endpoint: string; source: string; policy: Record<string, unknown> };
    await open(admin, 'cache', 'Response cache');
    const row = admin.getByTestId('cache-policies').locator('tr[data-endpoint="metered"]');
    await textOf(row.locator('td').first(), /^off$/);
    await row.getByRole('button', { name: 'Edit metered' }).click();
    const form = admin.getByTestId('cache-policy-form');
    await form.getByLabel('Cache answers').check();
    await form.getByLabel('Keep answers for (seconds)').fill('120');
    await form.locator('select[name=scope]').selectOption('team');
    await form.locator('select[name=requests]').selectOption('all');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await textOf(admin.getByTestId('cache-message'), /^metered: caching on, 120 s, team, all\.$/);
    expect(await get<PolicyView>('/admin/v1/cache/policies/metered')).toEqual({
      endpoint: 'metered',
      source: 'override',
      policy: { enabled: true, ttl_seconds: 120, scope: 'team', requests: 'all' },
    });
    await textOf(row.locator('td').nth(3), /^admin API$/);
    expect(await row.locator('td').allTextContents()).toEqual([
      'on, 120 s',
      'team',
      'all',
      'admin API',
      'Edit meteredRemove override of meteredClear metered',
    ]);
    // The policy applies: the same question twice, the second answered from the cache.
    const before = stable.requests.length;
    expect([await chat('metered'), await chat('metered')]).toEqual([200, 200]);
    expect(stable.requests.length - before).toBe(1);
    await checkScreen(admin, adminWatch, '25-cache-policy');

    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Remove override of metered' }).click();
    await textOf(admin.getByTestId('cache-message'), /^metered: override removed, caching off\.$/);
    expect(await get<PolicyView>('/admin/v1/cache/policies/metered')).toMatchObject({
      source: 'default',
      policy: { enabled: false },
    });
    await textOf(row.locator('td').first(), /^off$/);
  });

  it('creates a prompt template, writes a new version and previews it rendered', async () => {
    await open(admin, 'prompts', 'Prompt templates');
    const create = admin.getByTestId('create-template');
    await create.getByLabel('Template name').fill('greeter');
    await create.getByLabel('Description').fill('Greets people');
    await create.getByLabel('System message (optional)').fill('You greet people.');
    await create.getByLabel('User message ({{variable}} placeholders)').fill('Hello {{who}}');
    await create.getByLabel('Variables (names, comma-separated)').fill('who');
    await create.getByLabel('Commit message').fill('first');
    await create.getByLabel('Labels (e.g. staging; optional)').fill('production');
    await create.getByRole('button', { name: 'Create template' }).click();
    const detail = admin.getByTestId('prompt-detail');
    await textOf(detail.getByTestId('version-view').locator('h3'), /^Version 1 \(production\)$/);
    expect(admin.url()).toMatch(/#\/prompts\/greeter$/);

    const next = detail.getByTestId('new-version');
    expect(await next.getByLabel('User message ({{variable}} placeholders)').inputValue()).toBe(
      'Hello {{who}}',
    );
    // A placeholder the version does not declare: the API's refusal, shown in the form.
    await next.getByLabel('User message ({{variable}} placeholders)').fill('Good day, {{who}} of {{place}}');
    await next.getByRole('button', { name: 'Write version' }).click();
    expect(await textOf(next.locator('p.error'), /place/)).toMatch(/not declared/);
    await next.getByLabel('Variables (names, comma-separated)').fill('who, place');
    await next.getByLabel('Commit message').fill('formal');
    await next.getByRole('button', { name: 'Write version' }).click();
    await textOf(detail.getByTestId('prompt-message'), /^Version 2 of greeter written\.$/);
    type Template = { latest_version: number; labels: Record<string, number> };
    expect(await get<Template>('/admin/v1/prompts/greeter')).toMatchObject({
      latest_version: 2,
      labels: { production: 1 },
    });
    type Version = { messages: { role: string; content: string }[]; variables: { name: string }[] };
    const written = await get<Version>('/admin/v1/prompts/greeter/versions/2');
    expect(written.messages).toEqual([
      { role: 'system', content: 'You greet people.' },
      { role: 'user', content: 'Good day, {{who}} of {{place}}' },
    ]);
    expect(written.variables.map((v) => v.name)).toEqual(['who', 'place']);
    await textOf(detail.getByTestId('version-view').locator('h3'), /^Version 2$/);

    const preview = detail.getByTestId('preview');
    await textOf(preview.locator('select[name=version]'), /v2/);
    await preview.locator('select[name=version]').selectOption('2');
    await preview.getByLabel('Variables (JSON object)').fill('{"who": "Ada", "place": "Lovelace Hall"}');
    await preview.getByRole('button', { name: 'Render' }).click();
    await textOf(detail.getByTestId('rendered-content').nth(1), /Ada/);
    const shown = await detail.getByTestId('rendered-content').allTextContents();
    const rendered = await call<{ messages: { content: string }[] }>(
      gateway.url,
      'POST',
      '/admin/v1/prompts/greeter/render',
      gateway.authHeaders(),
      { version: 2, variables: { who: 'Ada', place: 'Lovelace Hall' } },
    );
    expect(shown).toEqual(rendered.body.messages.map((m) => m.content));
    expect(shown).toEqual(['You greet people.', 'Good day, Ada of Lovelace Hall']);
    await checkScreen(admin, adminWatch, '26-prompt-write');
  });

  it("shows each limit's usage equal to the requests just sent", async () => {
    await open(admin, 'limits', 'Limits and budgets');
    const form = admin.getByTestId('limit-form');
    await form.locator('select[name=scope]').selectOption('endpoint');
    await form.getByLabel('Endpoint name (empty: each separately)').fill('metered');
    await form.locator('select[name=window]').selectOption({ label: 'day' });
    await form.getByLabel('Limit', { exact: true }).fill('1000');
    await form.getByRole('button', { name: 'Add limit' }).click();
    await textOf(admin.getByTestId('limits-message'), /^Limit added: 1000 requests\.$/);
    const [limit] = (await get<{ id: string; subject: string }[]>('/admin/v1/limits')).filter(
      (l) => l.subject === 'metered',
    );
    const sent = 4;
    for (let i = 0; i < sent; i++) expect(await chat('metered')).toBe(200);
    type Usage = { limit_id: string; used: number; resets_at: string };
    const usage = (await get<Usage[]>('/admin/v1/limits/usage')).find((u) => u.limit_id === limit.id)!;
    expect(usage.used).toBe(sent);

    await admin.getByRole('button', { name: 'Refresh usage' }).click();
    const row = admin.getByTestId('usage-table').locator(`tr[data-usage="${limit.id}"]`);
    await textOf(row.getByTestId('used'), new RegExp(`^\\s*${sent} requests of 1000$`));
    expect(await row.locator('th, td').allTextContents()).toEqual([
      'endpoint metered',
      // The limit counts the endpoint's requests: it is on the endpoint, not narrowed to one.
      'all',
      '1000 requests per day',
      `${sent} requests of 1000`.replace(/^/, ' '),
      new Date(usage.resets_at).toLocaleString('en-US'),
    ]);
    expect(Number(await row.locator('meter').getAttribute('value'))).toBe(sent);
    await checkScreen(admin, adminWatch, '27-limit-usage');
  });

  it('shows a viewer its own team limit usage and none of the write actions', async () => {
    const viewer = await member(gateway, 'onlookers', ['viewer']);
    const own = await call<{ id: string }>(gateway.url, 'POST', '/admin/v1/limits', gateway.authHeaders(), {
      scope: 'team',
      subject: viewer.teamId,
      metric: 'requests',
      window: 'hour',
      limit: 30,
    });
    expect(own.status).toBe(201);
    const { page, w } = await signedIn(viewer.key);
    await open(page, 'limits', 'Limits and budgets');
    const rows = page.getByTestId('usage-table').locator('tbody tr');
    await rows.first().waitFor({ timeout: WAIT });
    // Its own team's limit only: not the admin's limit on 'metered', which bounds every team.
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-usage')).toBe(own.body.id);
    expect(await rows.first().getByTestId('used').textContent()).toMatch(/^\s*0 requests of 30$/);
    await checkScreen(page, w, '28-viewer-limit-usage');

    await open(page, 'rollouts', 'Rollouts');
    await page.getByTestId('rollouts-table').locator('tbody tr').first().waitFor({ timeout: WAIT });
    expect(await page.getByTestId('start-rollout').count()).toBe(0);
    await page.goto(`${gateway.url}/ui/#/prompts/greeter`);
    await page.getByTestId('versions-table').locator('tr[data-version="2"]').waitFor({ timeout: WAIT });
    for (const part of ['create-template', 'new-version', 'move-label'])
      expect([part, await page.getByTestId(part).count()]).toEqual([part, 0]);
    // Reading includes the preview (render needs prompts.read only).
    expect(await page.getByTestId('preview').count()).toBe(1);
    for (const screen of ['guardrails', 'cache']) {
      await page.goto(`${gateway.url}/ui/#/${screen}`);
      await textOf(page.getByTestId('forbidden'), /does not give access/);
    }
    // The API refuses them anyway.
    const key = { authorization: `Bearer ${viewer.key}` };
    const refused = [
      await call(gateway.url, 'POST', '/admin/v1/rollouts', key, {
        route: 'x',
        baseline: 'stable',
        canary: 'candidate',
      }),
      await call(gateway.url, 'PUT', '/admin/v1/cache/policies/metered', key, { enabled: true }),
      await call(gateway.url, 'POST', '/admin/v1/prompts/greeter/versions', key, {
        messages: [{ role: 'user', content: 'x' }],
      }),
      await call(gateway.url, 'PUT', `/admin/v1/moderation/teams/${viewer.teamId}/overrides/stable`, key, {
        policy: 'none',
      }),
    ].map((r) => r.status);
    expect(refused).toEqual([403, 403, 403, 403]);
  });

  it('lets an operator of another team see the cache but not change a policy it does not own', async () => {
    const operator = await member(gateway, 'elsewhere', ['operator']);
    const { page } = await signedIn(operator.key);
    await open(page, 'limits', 'Limits and budgets');
    await page.getByText('No limits you can see.').waitFor({ timeout: WAIT });
    expect(await page.getByTestId('usage-table').locator('tbody tr').count()).toBe(0);

    await open(page, 'cache', 'Response cache');
    const row = page.getByTestId('cache-policies').locator('tr[data-endpoint="stable"]');
    await row.getByRole('button', { name: 'Edit stable' }).click();
    const form = page.getByTestId('cache-policy-form');
    await form.getByLabel('Cache answers').check();
    // A cache shared by every team is not offered to a non-admin.
    expect(await form.locator('select[name=scope] option').allTextContents()).toEqual(['team', 'key']);
    await form.getByRole('button', { name: 'Save policy' }).click();
    await textOf(form.locator('p.error'), /^Not allowed for your role: /);
    expect(await get<{ source: string }>('/admin/v1/cache/policies/stable')).toMatchObject({
      source: 'default',
    });

    await page.goto(`${gateway.url}/ui/#/guardrails`);
    await textOf(page.getByTestId('forbidden'), /does not give access/);
  });
});
