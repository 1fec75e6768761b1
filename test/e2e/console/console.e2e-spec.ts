import { randomBytes } from 'node:crypto';
import { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { CONSOLE_CSP } from 'src/modules/console/console-assets';
import { bearer, call } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { checkScreen, launchChromium, PageWatch, prepareConsole, watch } from 'test/e2e/console/browser';

/**
 * The web console in Debian's chromium (playwright-core): sign in with a key, create an endpoint, see
 * traffic on the dashboard, take an API product through its lifecycle with a consumer and an admin,
 * keep a viewer out of the admin screens; each screen screenshotted, checked with axe-core, under the
 * strict CSP with no request leaving the gateway's origin.
 */
jest.setTimeout(180_000);

const MASTER_KEY = randomBytes(32).toString('base64');
const WAIT = 30_000;

describe('web console (browser)', () => {
  let gateway: TestGateway;
  let mock: OpenAIMock;
  let browser: Browser;
  let admin: Page;
  let adminWatch: PageWatch;
  const contexts: BrowserContext[] = [];

  async function signedIn(
    key: string,
    viewport = { width: 1280, height: 900 },
  ): Promise<{ page: Page; w: PageWatch }> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    const w = watch(page, gateway.url);
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: WAIT });
    return { page, w };
  }

  async function open(page: Page, screen: string, heading: string): Promise<void> {
    await page.goto(`${gateway.url}/ui/#/${screen}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: WAIT });
  }

  /** Screenshot, axe-core (no serious or critical violation), no CSP violation, nothing foreign. */

  async function textOf(locator: Locator, pattern: RegExp): Promise<string> {
    const deadline = Date.now() + WAIT;
    let text = '';
    while (Date.now() < deadline) {
      text = (await locator.textContent({ timeout: WAIT })) ?? '';
      if (pattern.test(text)) return text;
      await new Promise((r) => setTimeout(r, 200));
    }
    const status = await locator.page().locator('[role=status], [role=alert]').allTextContents();
    throw new Error(
      `text ${JSON.stringify(text)} never matched ${pattern} (page says: ${status.join(' | ')})`,
    );
  }

  const chat = (key: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ model: 'chat-ui', messages: [{ role: 'user', content: 'hello console' }] }),
    });

  beforeAll(async () => {
    const chromiumPath = await prepareConsole();
    mock = await startOpenAIMock();
    gateway = await startGateway('endpoints: []\n', { env: { GATEHOUSE_MASTER_KEY: MASTER_KEY } });
    const secret = await call(gateway.url, 'PUT', '/admin/v1/secrets/mock-openai', gateway.authHeaders(), {
      value: MOCK_API_KEY,
    });
    expect(secret.status).toBe(200);
    browser = await launchChromium(chromiumPath);
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  it('serves the console with a strict CSP, immutable hashed assets, and sends browsers at / there', async () => {
    const root = await fetch(`${gateway.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/ui/']);
    expect((await fetch(`${gateway.url}/`, { headers: { accept: 'application/json' } })).status).toBe(404);

    const index = await fetch(`${gateway.url}/ui/`);
    const html = await index.text();
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    // No inline script, nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const response = await fetch(`${gateway.url}${asset}`);
      expect([asset, response.status, response.headers.get('cache-control')]).toEqual([
        asset,
        200,
        'public, max-age=31536000, immutable',
      ]);
    }
    expect((await fetch(`${gateway.url}/ui/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('signs in with an API key (and refuses a wrong one)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    admin = await context.newPage();
    adminWatch = watch(admin, gateway.url);
    await admin.goto(`${gateway.url}/`);
    expect(admin.url()).toBe(`${gateway.url}/ui/`);
    await admin.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor({ timeout: WAIT });
    await checkScreen(admin, adminWatch, '01-sign-in');

    await admin.getByLabel('API key', { exact: true }).fill('gh_not_a_key_0000000000000000');
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await textOf(admin.getByRole('alert'), /not accepted/);

    await admin.getByLabel('API key', { exact: true }).fill(gateway.apiKey);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await textOf(admin.getByTestId('who'), /admin/);
    const nav = await admin.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(nav).toEqual([
      'Dashboard',
      'Endpoints',
      'Routing config',
      'Rollouts',
      'Prompts',
      'Models',
      'API products',
      'Portal',
      'My keys',
      'Approvals',
      'Limits and budgets',
      'Guardrails',
      'Cache',
      'Access',
      'Audit log',
    ]);
  });

  it('creates an endpoint from the form and lists it', async () => {
    await open(admin, 'endpoints', 'Endpoints');
    const form = admin.getByTestId('create-endpoint');
    await form.getByLabel('Name', { exact: true }).fill('chat-ui');
    await form.getByLabel('Model', { exact: true }).fill('gpt-4o-mini');
    await form.getByLabel('API base URL (optional)', { exact: true }).fill(`${mock.url}/v1`);
    await form.getByLabel('Provider key (stored secret name)', { exact: true }).fill('mock-openai');
    await form.getByRole('button', { name: 'Create endpoint' }).click();
    await textOf(form.getByRole('status'), /Endpoint chat-ui created \(revision 1\)/);
    const row = admin
      .getByTestId('endpoints-table')
      .locator('tr', { has: admin.locator('th', { hasText: 'chat-ui' }) });
    await row.waitFor({ timeout: WAIT });
    expect(await row.locator('td').allTextContents()).toEqual([
      'llm/v1/chat',
      'openai',
      'gpt-4o-mini',
      'admin API',
      '1',
    ]);
    await checkScreen(admin, adminWatch, '02-endpoints');
  });

  it('shows sent traffic on the dashboard charts', async () => {
    for (let i = 0; i < 3; i++) expect((await chat(gateway.apiKey)).status).toBe(200);
    mock.failNext({ status: 400 });
    expect((await chat(gateway.apiKey)).status).toBe(400);
    await gateway.app.get(UsageRecorder).flush();

    await open(admin, 'dashboard', 'Dashboard');
    await admin.getByRole('button', { name: 'Refresh' }).click();
    await textOf(admin.getByTestId('total-requests'), /^4$/);
    expect(await admin.getByTestId('total-errors').textContent()).toBe('1');
    // 4 × (prompt + completion) tokens reported by the mock; the chart holds them too.
    expect(Number(await admin.getByTestId('total-tokens').textContent())).toBeGreaterThan(0);
    for (const id of ['traffic', 'latency', 'tokens', 'cost']) {
      expect(await admin.getByTestId(`chart-${id}`).locator('canvas').count()).toBe(1);
    }
    // All four requests fell into one or two one-minute buckets: the peak is 2 to 4 requests.
    const summary = await textOf(admin.getByTestId('summary-traffic'), /Requests: peak \d/);
    expect(Number(/Requests: peak (\d+)/.exec(summary)![1])).toBeGreaterThanOrEqual(2);
    expect(summary).toMatch(/Client errors \(4xx\): peak 1 requests/);
    await checkScreen(admin, adminWatch, '03-dashboard');
  });

  let consumer: { page: Page; w: PageWatch };
  let consumerKey = '';

  it('publishes a product; a consumer subscribes, an admin approves, the consumer mints a key and calls it', async () => {
    await open(admin, 'products', 'API products');
    const form = admin.getByTestId('create-product');
    await form.getByLabel('Name (URL slug)', { exact: true }).fill('chat-product');
    await form.getByLabel('Title', { exact: true }).fill('Chat API');
    await form.locator('select[name=endpoint]').selectOption('chat-ui');
    await form.getByLabel('Limits (shown to subscribers)', { exact: true }).fill('60 requests/minute');
    await form.getByLabel('Price per 1k tokens (USD)', { exact: true }).fill('0.5');
    await form.getByLabel('Description', { exact: true }).fill('General-purpose chat for internal apps.');
    await form.getByRole('button', { name: 'Create draft' }).click();
    const row = admin.locator('tr[data-product="chat-product"]');
    await textOf(row.locator('.badge'), /^draft$/);
    await row.getByRole('button', { name: 'Publish chat-product' }).click();
    await textOf(row.locator('.badge'), /^published$/);
    await checkScreen(admin, adminWatch, '04-products');

    const team = await member(gateway, 'consumers', ['developer']);
    consumer = await signedIn(team.key);
    await open(consumer.page, 'portal', 'Developer portal');
    await consumer.page.getByRole('link', { name: 'Chat API' }).click();
    const detail = consumer.page.getByTestId('product-detail');
    await textOf(detail.getByRole('heading', { level: 2 }), /Chat API/);
    expect(await detail.textContent()).toContain('60 requests/minute');
    await textOf(detail.getByTestId('subscription-status'), /not subscribed/);
    await detail.getByRole('button', { name: 'Subscribe to chat-product' }).click();
    await textOf(detail.getByTestId('subscription-status'), /^pending$/);
    await checkScreen(consumer.page, consumer.w, '05-portal');
    // Not approved yet: the consumer's calls are refused.
    expect((await chat(team.key)).status).toBe(403);

    await open(admin, 'approvals', 'Subscriptions awaiting approval');
    await checkScreen(admin, adminWatch, '06-approvals');
    await admin.getByRole('button', { name: 'Approve chat-ui' }).click();
    await textOf(admin.getByRole('status'), /Request for chat-ui approved/);

    await open(consumer.page, 'keys', 'My API keys');
    await consumer.page.getByLabel('Key name', { exact: true }).fill('my-app');
    await consumer.page.getByRole('button', { name: 'Mint key' }).click();
    consumerKey = await textOf(consumer.page.getByTestId('minted-key'), /^gh_/);
    await checkScreen(consumer.page, consumer.w, '07-keys');
    const answer = await chat(consumerKey);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('deprecation')).toBeNull();
  });

  it('deprecates (Deprecation and Sunset headers, a warning in the portal) and retires (410, grants lapse)', async () => {
    await open(admin, 'products', 'API products');
    const row = admin.locator('tr[data-product="chat-product"]');
    const sunset = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
    await row.getByLabel('Sunset of chat-product', { exact: true }).fill(sunset);
    await row.getByRole('button', { name: 'Deprecate chat-product' }).click();
    await textOf(row.locator('.badge'), /^deprecated$/);

    const deprecated = await chat(consumerKey);
    expect(deprecated.status).toBe(200);
    const announced = Number(/^@(\d+)$/.exec(deprecated.headers.get('deprecation') ?? '')?.[1]);
    expect(Math.abs(announced * 1000 - Date.now())).toBeLessThan(120_000);
    expect(deprecated.headers.get('sunset')).toBe(new Date(`${sunset}T00:00:00Z`).toUTCString());

    await consumer.page.goto(`${gateway.url}/ui/#/portal/chat-product`);
    await textOf(
      consumer.page.getByTestId('deprecation-warning'),
      new RegExp(`stops answering on ${sunset}`),
    );

    const grantsBefore = await call(gateway.url, 'GET', '/admin/v1/grants', gateway.authHeaders());
    expect(
      grantsBefore.body.filter((g: { endpointPattern: string }) => g.endpointPattern === 'chat-ui'),
    ).toHaveLength(1);

    admin.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Retire chat-product' }).click();
    await textOf(row.locator('.badge'), /^retired$/);
    const retired = await chat(consumerKey);
    expect(retired.status).toBe(410);
    expect(((await retired.json()) as { error: { message: string; code: string } }).error).toMatchObject({
      code: 'product_retired',
      message: "API product 'chat-product' has been retired and is no longer served.",
    });
    const grantsAfter = await call(gateway.url, 'GET', '/admin/v1/grants', gateway.authHeaders());
    expect(
      grantsAfter.body.filter((g: { endpointPattern: string }) => g.endpointPattern === 'chat-ui'),
    ).toEqual([]);

    const revisions = await call(
      gateway.url,
      'GET',
      '/admin/v1/products/chat-product/revisions',
      gateway.authHeaders(),
    );
    expect(
      revisions.body.map((r: { action: string; revision: number }) => `${r.revision}:${r.action}`),
    ).toEqual(['4:retire', '3:deprecate', '2:publish', '1:create']);
    const audit = await call(
      gateway.url,
      'GET',
      '/admin/v1/audit?targetType=api_product',
      gateway.authHeaders(),
    );
    expect(audit.body.entries ?? audit.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'product.retire', targetId: 'chat-product' }),
      ]),
    );
  });

  it('keeps a viewer out of the admin screens (navigation, direct links and the API)', async () => {
    const viewer = await member(gateway, 'viewers', ['viewer']);
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
    for (const screen of ['approvals', 'products', 'keys', 'access', 'audit']) {
      await page.goto(`${gateway.url}/ui/#/${screen}`);
      await textOf(page.getByTestId('forbidden'), /does not give access/);
    }
    await checkScreen(page, w, '08-viewer-forbidden');
    await open(page, 'endpoints', 'Endpoints');
    await page
      .getByTestId('endpoints-table')
      .locator('th', { hasText: 'chat-ui' })
      .waitFor({ timeout: WAIT });
    expect(await page.getByTestId('create-endpoint').count()).toBe(0);
    // The server decides: the same calls the hidden screens make are refused.
    const pending = await call(gateway.url, 'GET', '/admin/v1/products', bearer(viewer.key));
    expect(pending.status).toBe(200);
    expect(
      (await call(gateway.url, 'POST', '/admin/v1/products/chat-product/publish', bearer(viewer.key))).status,
    ).toBe(403);
    expect(
      (
        await call(
          gateway.url,
          'POST',
          '/admin/v1/subscriptions/00000000-0000-4000-8000-000000000000/approve',
          bearer(viewer.key),
          {},
        )
      ).status,
    ).toBe(403);
  });

  it('fits a narrow (mobile) screen', async () => {
    const { page, w } = await signedIn(gateway.apiKey, { width: 375, height: 740 });
    for (const [screen, heading] of [
      ['dashboard', 'Dashboard'],
      ['portal', 'Developer portal'],
      ['products', 'API products'],
      ['config', 'Routing config'],
      ['audit', 'Audit log'],
      ['limits', 'Limits and budgets'],
      ['rollouts', 'Rollouts'],
      ['guardrails', 'Guardrails'],
      ['cache', 'Response cache'],
      ['prompts', 'Prompt templates'],
      ['models', 'Model registry'],
    ]) {
      await open(page, screen, heading);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect([screen, overflow <= 1]).toEqual([screen, true]);
    }
    await open(page, 'dashboard', 'Dashboard');
    await page.getByTestId('chart-traffic').locator('canvas').waitFor({ timeout: WAIT });
    await checkScreen(page, w, '09-dashboard-mobile');
  });
});
