import { randomBytes } from 'node:crypto';
import { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { bearer, call } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import {
  checkScreen,
  textOf,
  launchChromium,
  PageWatch,
  prepareConsole,
  watch,
} from 'test/e2e/console/browser';

/**
 * The console's admin screens in Debian's chromium: the routing config editor (YAML/JSON, diff against
 * the running revision, dry-run, apply, rollback), teams/principals/grants, and the audit log with
 * filters; each screenshotted and checked with axe-core; identities see and do only what their role
 * allows, and a permission lost mid-session is answered with a clear refusal rather than a broken page.
 */
jest.setTimeout(180_000);

const MASTER_KEY = randomBytes(32).toString('base64');
const WAIT = 30_000;

describe('web console admin screens (browser)', () => {
  let gateway: TestGateway;
  let mock: OpenAIMock;
  let browser: Browser;
  let admin: Page;
  let adminWatch: PageWatch;
  const contexts: BrowserContext[] = [];

  async function signedIn(key: string): Promise<{ page: Page; w: PageWatch }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const w = watch(page, gateway.url);
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: WAIT });
    return { page, w };
  }

  async function open(page: Page, screen: string, heading: string): Promise<void> {
    await page.goto(`${gateway.url}/ui/#/${screen}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: WAIT });
  }

  /** A form field's value once it matches (the editor loads asynchronously). */
  async function valueOf(locator: Locator, pattern: RegExp): Promise<string> {
    const deadline = Date.now() + WAIT;
    let value = '';
    while (Date.now() < deadline) {
      value = await locator.inputValue({ timeout: WAIT });
      if (pattern.test(value)) return value;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`value ${JSON.stringify(value)} never matched ${pattern}`);
  }

  const endpoint = async (name: string) =>
    call(gateway.url, 'GET', `/admin/v1/endpoints/${name}`, gateway.authHeaders());

  beforeAll(async () => {
    const chromiumPath = await prepareConsole();
    mock = await startOpenAIMock();
    gateway = await startGateway('endpoints: []\n', { env: { GATEHOUSE_MASTER_KEY: MASTER_KEY } });
    const secret = await call(gateway.url, 'PUT', '/admin/v1/secrets/mock-openai', gateway.authHeaders(), {
      value: MOCK_API_KEY,
    });
    expect(secret.status).toBe(200);
    browser = await launchChromium(chromiumPath);
    ({ page: admin, w: adminWatch } = await signedIn(gateway.apiKey));
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  it('edits an endpoint as YAML: dry run changes nothing, apply makes revisions, diff and rollback', async () => {
    await open(admin, 'config', 'Routing config');
    const editor = admin.getByLabel('Definition (YAML)');
    const message = admin.getByTestId('config-message');
    await editor.fill(
      [
        'name: cfg-chat',
        'endpoint_type: llm/v1/chat',
        'model:',
        '  provider: openai',
        '  name: gpt-4o-mini',
        '  config:',
        '    openai_api_key: $secret:mock-openai',
        `    openai_api_base: ${mock.url}/v1`,
        '',
      ].join('\n'),
    );
    await admin.getByRole('button', { name: 'Dry run' }).click();
    await textOf(message, /^Dry run passed: create of endpoint cfg-chat would be valid\.$/);
    expect(await admin.getByTestId('config-diff').textContent()).toContain('+ name: cfg-chat');
    expect((await endpoint('cfg-chat')).status).toBe(404);

    await admin.getByRole('button', { name: 'Apply' }).click();
    await textOf(message, /^Applied: endpoint cfg-chat is now at revision 1\.$/);
    expect((await endpoint('cfg-chat')).body).toMatchObject({ revision: 1, source: 'api' });
    await textOf(admin.getByTestId('config-source'), /Running revision 1/);

    // An edit, diffed against the running revision before anything is sent.
    const running = await editor.inputValue();
    await editor.fill(running.replace('name: gpt-4o-mini', 'name: gpt-4o'));
    await admin.getByRole('button', { name: 'Show diff' }).click();
    const diff = (await admin.getByTestId('config-diff').textContent()) ?? '';
    expect(diff).toContain('-   name: gpt-4o-mini');
    expect(diff).toContain('+   name: gpt-4o\n');
    expect(diff.split('\n').filter((l) => /^[+-] /.test(l))).toHaveLength(2);

    // The server validates a dry run against the whole config: a bad type is refused, nothing changes.
    const edited = await editor.inputValue();
    await editor.fill(edited.replace('llm/v1/chat', 'llm/v1/bogus'));
    await admin.getByRole('button', { name: 'Dry run' }).click();
    await textOf(message, /invalid/i);
    expect(await message.getAttribute('class')).toBe('error');
    expect((await endpoint('cfg-chat')).body.revision).toBe(1);

    await editor.fill(edited);
    await admin.getByRole('button', { name: 'Apply' }).click();
    await textOf(message, /^Applied: endpoint cfg-chat is now at revision 2\.$/);
    expect((await endpoint('cfg-chat')).body.entry.model.name).toBe('gpt-4o');
    const revisions = admin.getByTestId('config-revisions');
    await textOf(revisions.locator('tbody tr').nth(1), /^1create/);
    expect(await revisions.locator('tbody tr').count()).toBe(2);

    await admin.getByRole('button', { name: 'Roll back to revision 1' }).click();
    await textOf(message, /^Rolled back endpoint cfg-chat to revision 1 \(now revision 3\)\.$/);
    const restored = (await endpoint('cfg-chat')).body;
    expect([restored.revision, restored.entry.model.name]).toEqual([3, 'gpt-4o-mini']);
    await valueOf(editor, /name: gpt-4o-mini/);

    // The same entry as JSON.
    await admin.locator('select[name=format]').selectOption('json');
    const json = JSON.parse(await admin.getByLabel('Definition (JSON)').inputValue()) as {
      name: string;
      model: { name: string };
    };
    expect([json.name, json.model.name]).toEqual(['cfg-chat', 'gpt-4o-mini']);
    await checkScreen(admin, adminWatch, '12-config-editor');
  });

  it('lists teams, principals and grants; creates a team, a principal and a grant; revokes the grant', async () => {
    await open(admin, 'access', 'Teams and access');
    await admin
      .getByTestId('principals-table')
      .locator('th', { hasText: 'bootstrap-admin' })
      .waitFor({ timeout: WAIT });

    await admin.getByLabel('New team name').fill('analysts');
    await admin.getByRole('button', { name: 'Create team' }).click();
    await textOf(admin.getByRole('status'), /Team analysts created/);
    await admin.getByTestId('teams-table').locator('th', { hasText: 'analysts' }).waitFor({ timeout: WAIT });

    const principal = admin.getByTestId('create-principal');
    await principal.getByLabel('Name').fill('dana');
    await principal.locator('select[name=teamId]').selectOption({ label: 'analysts' });
    await principal.locator('select[name=role]').selectOption('viewer');
    await principal.getByRole('button', { name: 'Register principal' }).click();
    const row = admin.locator('tr[data-principal="dana"]');
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('td').allTextContents()).toEqual([
      'user',
      'analysts',
      'viewer',
      'API keys',
      'active',
    ]);

    const grant = admin.getByTestId('create-grant');
    await grant.locator('select[name=grantTeam]').selectOption({ label: 'analysts' });
    await grant.getByLabel('Endpoint name or pattern (e.g. chat*)').fill('cfg-*');
    await grant.getByRole('button', { name: 'Grant access' }).click();
    await textOf(admin.getByRole('status'), /Team analysts may now call cfg-\*/);
    const teams = (await call(gateway.url, 'GET', '/admin/v1/teams', gateway.authHeaders())).body as {
      id: string;
      name: string;
    }[];
    const analysts = teams.find((t) => t.name === 'analysts')!.id;
    const grants = async () =>
      (
        (await call(gateway.url, 'GET', '/admin/v1/grants', gateway.authHeaders())).body as {
          teamId: string;
          endpointPattern: string;
        }[]
      ).filter((g) => g.teamId === analysts);
    expect((await grants()).map((g) => g.endpointPattern)).toEqual(['cfg-*']);
    await checkScreen(admin, adminWatch, '13-access');

    admin.once('dialog', (dialog) => void dialog.accept());
    await admin.getByRole('button', { name: 'Revoke cfg-*' }).click();
    await textOf(admin.getByRole('status'), /Grant for cfg-\* revoked/);
    expect(await grants()).toEqual([]);
  });

  it('shows the audit log filtered by actor, action, outcome and time range', async () => {
    // A refusal to audit: a viewer trying to approve.
    const viewer = await member(gateway, 'audited', ['viewer']);
    const refused = await call(
      gateway.url,
      'POST',
      '/admin/v1/subscriptions/00000000-0000-4000-8000-000000000000/approve',
      bearer(viewer.key),
      {},
    );
    expect(refused.status).toBe(403);

    await open(admin, 'audit', 'Audit log');
    const table = admin.getByTestId('audit-table');
    await table.locator('tr[data-action="routing.endpoint.rollback"]').waitFor({ timeout: WAIT });
    const actions = async () =>
      Promise.all((await table.locator('tbody tr').all()).map((row) => row.getAttribute('data-action')));

    const filters = admin.getByTestId('audit-filters');
    await filters.getByLabel('Action').fill('routing.endpoint.update');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await textOf(admin.getByTestId('audit-count'), /^1 entry$/);
    expect(await actions()).toEqual(['routing.endpoint.update']);
    expect(await table.locator('tbody tr td').nth(1).textContent()).toBe('bootstrap-admin');

    await filters.getByLabel('Action').fill('');
    await filters.locator('select[name=outcome]').selectOption('denied');
    await filters.locator('select[name=actor]').selectOption({ label: 'audited-viewer' });
    const request = admin.waitForRequest((r) => r.url().includes('/admin/v1/audit?'));
    await filters.locator('select[name=range]').selectOption('1h');
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    const query = new URL((await request).url()).searchParams;
    expect(query.get('actorId')).toBe(viewer.principalId);
    expect(query.get('outcome')).toBe('denied');
    // "Last hour": since is an hour before the request, give or take a busy machine's minute.
    expect(Math.abs(Date.parse(query.get('since')!) - (Date.now() - 3_600_000))).toBeLessThan(60_000);
    // The previous filter also matched one entry: wait for the new rows, not for the count.
    const denied = table.locator('tbody tr').first();
    await textOf(denied.locator('td').nth(1), /^audited-viewer$/);
    await textOf(admin.getByTestId('audit-count'), /^1 entry$/);
    expect(await denied.locator('th, td').allTextContents()).toEqual([
      expect.any(String),
      'audited-viewer',
      'auth.authorize',
      'permission subscriptions.decide',
      'denied',
    ]);
    await checkScreen(admin, adminWatch, '14-audit');
  });

  it('shows a viewer the config read-only and no access or audit screens', async () => {
    const viewer = await member(gateway, 'readers', ['viewer']);
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
    await open(page, 'config', 'Routing config');
    await page.locator('select[name=entry]').selectOption('cfg-chat');
    const editor = page.getByLabel('Definition (YAML)');
    await valueOf(editor, /name: cfg-chat/);
    expect(await editor.getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('button', { name: 'Apply' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Dry run' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Roll back/ }).count()).toBe(0);
    for (const screen of ['access', 'audit']) {
      await page.goto(`${gateway.url}/ui/#/${screen}`);
      await textOf(page.getByTestId('forbidden'), /does not give access/);
    }
    await checkScreen(page, w, '15-viewer-config');
  });

  it('shows an operator the lists without write forms, and a clear refusal once its role is taken away', async () => {
    const operator = await member(gateway, 'ops', ['operator']);
    const { page, w } = await signedIn(operator.key);
    await open(page, 'access', 'Teams and access');
    await page
      .getByTestId('principals-table')
      .locator('th', { hasText: 'ops-operator' })
      .waitFor({ timeout: WAIT });
    for (const form of ['create-team', 'create-principal', 'create-grant'])
      expect([form, await page.getByTestId(form).count()]).toEqual([form, 0]);

    // The admin demotes the operator while its console is open: the next load is refused, said plainly.
    const demoted = await call(
      gateway.url,
      'PUT',
      `/admin/v1/principals/${operator.principalId}/roles`,
      gateway.authHeaders(),
      { roles: ['viewer'] },
    );
    expect(demoted.status).toBe(200);
    await open(page, 'audit', 'Audit log');
    await textOf(page.getByRole('alert'), /^Not allowed for your role: Missing permission 'audit\.read'\.$/);
    expect(w.pageErrors).toEqual([]);
    // Signed in still (a 403 is not a 401), and a fresh start hides what the role no longer allows.
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: WAIT });
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(nav).not.toContain('Audit log');
    expect(nav).not.toContain('Access');
  });

  it('returns to the sign-in page, saying why, when the API stops accepting the credential', async () => {
    const dev = await member(gateway, 'leavers', ['developer']);
    const { page } = await signedIn(dev.key);
    await open(page, 'keys', 'My API keys');
    const revoked = await call(
      gateway.url,
      'POST',
      `/admin/v1/keys/${dev.keyId}/revoke`,
      gateway.authHeaders(),
      {},
    );
    expect(revoked.status).toBeLessThan(300);
    await page.goto(`${gateway.url}/ui/#/config`);
    await page.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor({ timeout: WAIT });
    await textOf(page.getByRole('alert'), /^Your session has ended\. Please sign in again\.$/);
    expect(await page.evaluate<string | null>("sessionStorage.getItem('gatehouse.apiKey')")).toBeNull();
  });
});
