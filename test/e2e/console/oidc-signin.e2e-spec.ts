import { Browser, BrowserContext, Page } from 'playwright-core';
import { consoleCsp } from 'src/modules/console/console-assets';
import { bearer, call } from 'test/e2e/support/admin-client';
import { startOidcProvider, TestOidcProvider } from 'test/e2e/support/oidc-provider';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import {
  axeViolations,
  launchChromium,
  PageWatch,
  prepareConsole,
  screenshot,
  watch,
} from 'test/e2e/console/browser';

/**
 * The console's OIDC sign-in in Debian's chromium against a real OpenID provider (`oidc-provider`):
 * authorization code with PKCE (S256) from the browser, the access token then used as a bearer token on
 * the admin API; an admin and a viewer see their own screens, an unregistered identity and a forged
 * callback are refused, and the page never talks to any origin but the gateway's and the provider's.
 */
jest.setTimeout(180_000);

const WAIT = 30_000;

describe('web console: OIDC sign-in with PKCE (browser)', () => {
  let idp: TestOidcProvider;
  let gateway: TestGateway;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** What the provider saw at its token endpoint, from the browser (the code exchange). */
  const exchanges: Record<string, string>[] = [];
  const authorizations: URL[] = [];

  async function newPage(): Promise<{ page: Page; w: PageWatch }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    // The provider's development login pages load a web font: nothing leaves the machine.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    const page = await context.newPage();
    consoleRequests.set(page, []);
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (request.frame().url().startsWith(`${gateway.url}/ui/`) && !request.isNavigationRequest())
        consoleRequests.get(page)!.push(url.origin);
      if (url.origin !== idp.issuer) return;
      if (url.pathname === '/token' && request.method() === 'POST')
        exchanges.push(Object.fromEntries(new URLSearchParams(request.postData() ?? '')));
      if (url.pathname === '/auth') authorizations.push(url);
    });
    return { page, w: watch(page, gateway.url) };
  }

  /** The console → the provider's login and consent pages (any login name is an account) → back. */
  async function signInAs(page: Page, login: string): Promise<void> {
    await page.goto(`${gateway.url}/ui/`);
    await page.getByRole('button', { name: 'Sign in with identity provider', exact: true }).click();
    await page.waitForURL((url) => url.origin === idp.issuer, { timeout: WAIT });
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click({ timeout: WAIT });
    await page.waitForURL((url) => url.origin === gateway.url && url.pathname === '/ui/', { timeout: WAIT });
  }

  async function principal(name: string, roles: string[]): Promise<void> {
    const created = await call(gateway.url, 'POST', '/admin/v1/principals', gateway.authHeaders(), {
      kind: 'user',
      name,
      issuer: idp.issuer,
      subject: name,
      roles,
    });
    expect(created.status).toBe(201);
  }

  /**
   * Origins other than the gateway's that the console's own pages asked for: the provider's only
   * (discovery and the token exchange). The provider's login pages are its business, not the console's.
   */
  function foreignOrigins(page: Page): string[] {
    return [...new Set(consoleRequests.get(page) ?? [])].filter((o) => o !== gateway.url);
  }
  const consoleRequests = new Map<Page, string[]>();

  beforeAll(async () => {
    const chromiumPath = await prepareConsole();
    idp = await startOidcProvider({ spa: true });
    gateway = await startGateway('endpoints: []\n', {
      env: {
        AUTH_OIDC_ISSUER: idp.issuer,
        AUTH_JWT_AUDIENCE: idp.audience,
        CONSOLE_OIDC_CLIENT_ID: idp.spaClientId,
        CONSOLE_OIDC_SCOPES: 'openid profile',
      },
    });
    await idp.registerSpaRedirect(`${gateway.url}/ui/`);
    await principal('alice', ['admin']);
    await principal('victor', ['viewer']);
    browser = await launchChromium(chromiumPath);
  }, 300_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await gateway?.close();
    await idp?.close();
  });

  it('publishes issuer, public client id and scopes, and lets the console connect to the issuer only', async () => {
    const config = await fetch(`${gateway.url}/admin/v1/console/config`);
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({
      oidc: { issuer: idp.issuer, clientId: idp.spaClientId, scopes: ['openid', 'profile'] },
    });
    const index = await fetch(`${gateway.url}/ui/`);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(consoleCsp([idp.issuer]));
    expect(csp).toContain(`connect-src 'self' ${idp.issuer};`);
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('signs an admin in with authorization code + PKCE and calls the admin API with the access token', async () => {
    const { page, w } = await newPage();
    await page.goto(`${gateway.url}/ui/`);
    await page.getByRole('heading', { name: 'Single sign-on' }).waitFor({ timeout: WAIT });
    await screenshot(page, '10-sign-in-oidc');
    expect(await axeViolations(page)).toEqual([]);

    await signInAs(page, 'alice');
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: WAIT });
    expect(await page.getByTestId('who').textContent()).toBe('alice (admin)');
    // The code and state leave the address bar as soon as the console has read them.
    expect(new URL(page.url()).search).toBe('');
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(nav).toEqual(
      expect.arrayContaining(['Dashboard', 'API products', 'Approvals', 'Access', 'Audit log']),
    );
    await page.goto(`${gateway.url}/ui/#/approvals`);
    await page
      .getByRole('heading', { level: 1, name: 'Subscriptions awaiting approval' })
      .waitFor({ timeout: WAIT });

    // The authorization request carried an S256 challenge of the verifier the token request sent.
    const authorize = authorizations.at(-1)!;
    const exchange = exchanges.at(-1)!;
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('client_id')).toBe(idp.spaClientId);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${gateway.url}/ui/`);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(exchange.code_verifier).digest('base64url')).toBe(
      authorize.searchParams.get('code_challenge'),
    );
    expect(exchange).toMatchObject({ grant_type: 'authorization_code', client_id: idp.spaClientId });
    expect(exchange.client_secret).toBeUndefined();

    // The bearer the console holds is the provider's JWT, and the API accepts it as alice.
    const token = await page.evaluate<string | null>("sessionStorage.getItem('gatehouse.apiKey')");
    expect(token?.split('.')).toHaveLength(3);
    const me = await call(gateway.url, 'GET', '/admin/v1/me', bearer(token!));
    expect([me.status, me.body.name, me.body.roles]).toEqual([200, 'alice', ['admin']]);

    expect(w.violations).toEqual([]);
    expect(w.pageErrors).toEqual([]);
    expect(foreignOrigins(page)).toEqual([idp.issuer]);
    await screenshot(page, '11-signed-in-oidc');
  });

  it('shows a viewer identity no admin screens, and refuses the admin API to its token', async () => {
    const { page, w } = await newPage();
    await signInAs(page, 'victor');
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: WAIT });
    expect(await page.getByTestId('who').textContent()).toBe('victor (viewer)');
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
    await page.goto(`${gateway.url}/ui/#/approvals`);
    await page.getByTestId('forbidden').waitFor({ timeout: WAIT });
    const token = await page.evaluate<string>("sessionStorage.getItem('gatehouse.apiKey')");
    const approve = await call(
      gateway.url,
      'POST',
      '/admin/v1/subscriptions/00000000-0000-4000-8000-000000000000/approve',
      bearer(token),
      {},
    );
    expect(approve.status).toBe(403);
    expect((await call(gateway.url, 'GET', '/admin/v1/me', bearer(token))).body.name).toBe('victor');
    expect(w.violations).toEqual([]);
    expect(foreignOrigins(page)).toEqual([idp.issuer]);
  });

  it('refuses an identity the gateway does not know, and a callback this tab did not start', async () => {
    const { page } = await newPage();
    await signInAs(page, 'mallory');
    await page.getByRole('heading', { name: 'Sign in to Gatehouse' }).waitFor({ timeout: WAIT });
    expect(await page.getByRole('alert').textContent()).toMatch(
      /Gatehouse refused this identity: .*not registered/,
    );
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);

    const tokensBefore = exchanges.length;
    await page.goto(`${gateway.url}/ui/?code=stolen-code&state=forged-state`);
    await page.getByRole('alert').waitFor({ timeout: WAIT });
    expect(await page.getByRole('alert').textContent()).toMatch(/not started from this tab/);
    // A forged state stops before the code exchange.
    expect(exchanges.length).toBe(tokensBefore);
    expect(new URL(page.url()).search).toBe('');
  });
});
