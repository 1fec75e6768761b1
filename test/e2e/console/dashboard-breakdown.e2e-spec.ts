import { randomBytes } from 'node:crypto';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { bearer, call } from 'test/e2e/support/admin-client';
import { member, openaiEntry } from 'test/e2e/security/support';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import {
  checkScreen,
  launchChromium,
  PageWatch,
  prepareConsole,
  textOf,
  watch,
} from 'test/e2e/console/browser';

/**
 * The dashboard's breakdowns in chromium: real traffic from two teams on two endpoints, then a chart per
 * figure with a series per endpoint (and per team) and a table of each group's figures; a team member
 * sees its own team only.
 */
jest.setTimeout(180_000);

const WAIT = 30_000;

describe('dashboard breakdowns (browser)', () => {
  let gateway: TestGateway;
  let mock: OpenAIMock;
  let browser: Browser;
  let teamB: Awaited<ReturnType<typeof member>>;
  const contexts: BrowserContext[] = [];

  async function signedIn(key: string): Promise<{ page: Page; w: PageWatch }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    const w = watch(page, gateway.url);
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: WAIT });
    await page.goto(`${gateway.url}/ui/#/dashboard`);
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor({ timeout: WAIT });
    // Hour buckets over 24 hours: the roll-up's path.
    await page.getByLabel('Time range').selectOption('24h');
    return { page, w };
  }

  /** The breakdown table as [label, requests, 4xx, 5xx] rows, once it shows `rows` rows. */
  async function breakdown(page: Page, rows: number): Promise<string[][]> {
    const row = page.getByTestId('breakdown-row');
    const deadline = Date.now() + WAIT;
    while ((await row.count()) !== rows && Date.now() < deadline) await page.waitForTimeout(200);
    const out: string[][] = [];
    for (let i = 0; i < (await row.count()); i++) {
      const cells = await row.nth(i).locator('th, td').allTextContents();
      out.push(cells.slice(0, 4));
    }
    return out;
  }

  const chat = async (key: string, endpoint: string) =>
    (
      await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(key) },
        body: JSON.stringify({ model: endpoint, messages: [{ role: 'user', content: 'hello' }] }),
      })
    ).status;

  beforeAll(async () => {
    const chromiumPath = await prepareConsole();
    mock = await startOpenAIMock();
    gateway = await startGateway('endpoints: []\n', {
      env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') },
    });
    const admin = gateway.authHeaders();
    expect(
      (await call(gateway.url, 'PUT', '/admin/v1/secrets/mock', admin, { value: MOCK_API_KEY })).status,
    ).toBe(200);
    for (const name of ['ep-a', 'ep-b']) {
      const entry = openaiEntry(name, '$secret:mock', `${mock.url}/v1`);
      expect((await call(gateway.url, 'POST', '/admin/v1/endpoints', admin, entry)).status).toBe(201);
    }
    const teamA = await member(gateway, 'team-a', ['developer']);
    teamB = await member(gateway, 'team-b', ['developer']);
    for (const [team, endpoint] of [
      [teamA, 'ep-a'],
      [teamB, 'ep-b'],
    ] as const) {
      const grant = { teamId: team.teamId, endpointPattern: endpoint };
      expect((await call(gateway.url, 'POST', '/admin/v1/grants', admin, grant)).status).toBe(201);
    }
    for (let i = 0; i < 3; i++) expect(await chat(teamA.key, 'ep-a')).toBe(200);
    mock.failNext({ status: 400 });
    expect(await chat(teamA.key, 'ep-a')).toBe(400);
    for (let i = 0; i < 2; i++) expect(await chat(teamB.key, 'ep-b')).toBe(200);
    await gateway.app.get(UsageRecorder).flush();
    browser = await launchChromium(chromiumPath);
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  it('shows a series per endpoint and per team, with their figures', async () => {
    const { page, w } = await signedIn(gateway.apiKey);
    await textOf(page.getByTestId('total-requests'), /^6$/);
    await page.getByLabel('Break down by').selectOption('endpoint');
    expect(await breakdown(page, 2)).toEqual([
      ['ep-a', '4', '1', '0'],
      ['ep-b', '2', '0', '0'],
    ]);
    for (const id of ['requests', 'client-errors', 'server-errors', 'p50', 'p95', 'tokens', 'cost']) {
      const chart = page.getByTestId(`chart-group-${id}`);
      expect(await chart.locator('canvas').count()).toBe(1);
      // uPlot's legend: one entry per group.
      const legend = (await chart.locator('.u-legend').textContent()) ?? '';
      expect([id, legend.includes('ep-a'), legend.includes('ep-b')]).toEqual([id, true, true]);
    }
    const requests = await textOf(page.getByTestId('summary-group-requests'), /ep-a: peak/);
    expect(requests).toMatch(/ep-a: peak 4 requests\. ep-b: peak 2 requests\./);
    const errors = await textOf(page.getByTestId('summary-group-client-errors'), /ep-a: peak/);
    expect(errors).toMatch(/ep-a: peak 1 requests\. ep-b: peak 0 requests\./);
    await checkScreen(page, w, '20-dashboard-by-endpoint');

    await page.getByLabel('Break down by').selectOption('team');
    await textOf(page.getByTestId('breakdown-row'), /team-a/);
    expect(await breakdown(page, 2)).toEqual([
      ['team-a', '4', '1', '0'],
      ['team-b', '2', '0', '0'],
    ]);
  });

  it("shows a team member its own team's series only", async () => {
    const { page, w } = await signedIn(teamB.key);
    await textOf(page.getByTestId('total-requests'), /^2$/);
    await page.getByLabel('Break down by').selectOption('endpoint');
    expect(await breakdown(page, 1)).toEqual([['ep-b', '2', '0', '0']]);
    await page.getByLabel('Break down by').selectOption('team');
    await textOf(page.getByTestId('breakdown-row'), /team-b/);
    expect(await breakdown(page, 1)).toEqual([['team-b', '2', '0', '0']]);
    await checkScreen(page, w, '21-dashboard-own-team');
  });
});
