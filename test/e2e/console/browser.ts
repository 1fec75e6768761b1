import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page } from 'playwright-core';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
/** Screenshots of the console's screens (gitignored): a CI artifact. */
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console');

function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(file, args, { cwd: REPO_ROOT, timeout: 300_000 }, (error, stdout, stderr) => {
      done({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        out: `${stdout}${stderr}`,
      });
    });
  });
}

async function must(file: string, args: string[]): Promise<string> {
  const { code, out } = await run(file, args);
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} failed:\n${out}`);
  return out;
}

const WEB_OUT = join(REPO_ROOT, 'dist', 'web');
/** Written into dist/web after a build: the hash of the sources it was built from. */
const BUILD_STAMP = join(WEB_OUT, '.source-hash');

/** Every file under `dir`, as paths relative to the repository, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(REPO_ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

/** A hash of what the console build reads: web/ (sources, index.html, vite config) and the lockfile. */
async function consoleSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [...(await filesUnder(join(REPO_ROOT, 'web'))), 'package-lock.json']) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(REPO_ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * Builds web/ into dist/web unless dist/web already holds a build of exactly these sources (the console
 * specs each call this; one build serves them all). Vite empties dist/web first, so a build made any
 * other way (`npm run build:web`) carries no stamp and is built again here.
 */
async function buildConsole(): Promise<void> {
  const sources = await consoleSourceHash();
  const built = await readFile(BUILD_STAMP, 'utf8').catch(() => '');
  if (built === sources && existsSync(join(WEB_OUT, 'index.html'))) return;
  await must(process.execPath, [
    join(REPO_ROOT, 'node_modules/vite/bin/vite.js'),
    'build',
    '--config',
    'web/vite.config.mjs',
    '--logLevel',
    'warn',
  ]);
  await writeFile(BUILD_STAMP, sources);
}

/**
 * scripts/setup-browser.sh installs Debian's chromium when it is missing; the console is built from
 * web/ (a few seconds, once per change of its sources) so that the gateway serves what the checkout
 * holds. Returns chromium's path.
 */
export async function prepareConsole(): Promise<string> {
  await must('bash', ['scripts/setup-browser.sh']);
  await buildConsole();
  const path = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!path) throw new Error('chromium not found after scripts/setup-browser.sh');
  await mkdir(ARTIFACTS, { recursive: true });
  return path;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    // Root in a container: no user namespaces for the sandbox. --disable-dev-shm-usage: small /dev/shm.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 60_000,
  });
}

/** What a page did that the console must never do: CSP violations, third-party requests, errors. */
export interface PageWatch {
  violations: string[];
  foreignRequests: string[];
  pageErrors: string[];
}

export function watch(page: Page, origin: string): PageWatch {
  const w: PageWatch = { violations: [], foreignRequests: [], pageErrors: [] };
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) w.violations.push(message.text());
  });
  page.on('pageerror', (error) => w.pageErrors.push(error.message));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) w.foreignRequests.push(url);
  });
  return w;
}

const AXE_SOURCE = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js');

/**
 * axe-core's serious and critical violations on the current page (WCAG 2.x A/AA rules). The script is
 * evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const source = await readFile(AXE_SOURCE, 'utf8');
  await page.evaluate(source);
  // A string: evaluated in the page (the test's own tsconfig has no DOM types).
  const result = await page.evaluate<AxeResult>(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })`,
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

interface AxeResult {
  violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A main screen: screenshot as an artifact, no serious axe-core violations, no CSP violation, no request
 * to another site, no page error. */
export async function checkScreen(page: Page, w: PageWatch, name: string): Promise<void> {
  await screenshot(page, name);
  expect([name, await axeViolations(page)]).toEqual([name, []]);
  expect([name, w.violations, w.foreignRequests, w.pageErrors]).toEqual([name, [], [], []]);
}

/** The first match's text once it matches `pattern` (the console renders asynchronously); 30 s at most. */
export async function textOf(locator: Locator, pattern: RegExp, waitMs = 30_000): Promise<string> {
  const deadline = Date.now() + waitMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.first().textContent({ timeout: waitMs })) ?? '';
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`text ${JSON.stringify(text)} never matched ${pattern}`);
}

/** How long a console spec waits for a screen, a row or a figure. */
export const SCREEN_WAIT = 30_000;

/**
 * A fresh browser context (kept in `contexts` for the spec to close) signed in to the console at
 * `origin` with an API key, and a watch on its page.
 */
export async function signInWithKey(
  browser: Browser,
  contexts: BrowserContext[],
  origin: string,
  key: string,
): Promise<{ page: Page; w: PageWatch }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  const w = watch(page, origin);
  await page.goto(`${origin}/ui/`);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: SCREEN_WAIT });
  return { page, w };
}

/** Opens a console screen by its route and waits for its heading. */
export async function openScreen(page: Page, origin: string, screen: string, heading: string): Promise<void> {
  await page.goto(`${origin}/ui/#/${screen}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: SCREEN_WAIT });
}

/** Reads again every 250 ms until `ok` holds (or fails after SCREEN_WAIT with the last value). */
export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + SCREEN_WAIT;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    value = await read();
  }
  if (!ok(value)) throw new Error(`never reached: ${JSON.stringify(value)}`);
  return value;
}
