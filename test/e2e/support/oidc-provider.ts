import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  /** Client-credentials grant over HTTP, as an enterprise app would do it. */
  token(): Promise<string>;
  rotateKeys(): Promise<string>;
  /** The public (PKCE) client of a browser app, when started with `spa: true`. */
  spaClientId: string;
  /** Registers the public client's redirect URI (e.g. `<gateway>/ui/`). */
  registerSpaRedirect(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts test/e2e/support/oidc-provider.server.mjs (a real `oidc-provider`) on a free loopback port. */
export async function startOidcProvider(
  options: { roles?: string[]; spa?: boolean } = {},
): Promise<TestOidcProvider> {
  const clientId = `app-${randomBytes(4).toString('hex')}`;
  const spaClientId = options.spa ? `console-${randomBytes(4).toString('hex')}` : '';
  const clientSecret = randomBytes(24).toString('hex');
  const audience = 'https://gatehouse.test/api';
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'oidc-provider.server.mjs')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      OIDC_CLIENT_ID: clientId,
      OIDC_CLIENT_SECRET: clientSecret,
      OIDC_AUDIENCE: audience,
      OIDC_TOKEN_ROLES: (options.roles ?? []).join(','),
      ...(spaClientId ? { OIDC_SPA_CLIENT_ID: spaClientId } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /\{"port":(\d+)\}/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    child.once('exit', (code) => reject(new Error(`oidc-provider exited (${code}): ${stderr}`)));
  });
  const issuer = `http://127.0.0.1:${port}`;
  return {
    issuer,
    clientId,
    clientSecret,
    audience,
    token: async () => {
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          resource: audience,
          scope: 'inference.invoke endpoints.read',
        }).toString(),
      });
      const body = (await response.json()) as { access_token?: string; error?: string };
      if (!response.ok || !body.access_token)
        throw new Error(`token request failed: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    spaClientId,
    registerSpaRedirect: async (redirectUri) => {
      const response = await fetch(`${issuer}/__test/spa-redirect`, {
        method: 'POST',
        body: JSON.stringify({ redirect_uri: redirectUri }),
      });
      if (!response.ok) throw new Error(`spa-redirect failed: ${response.status}`);
    },
    rotateKeys: async () => {
      const response = await fetch(`${issuer}/__test/rotate-keys`, { method: 'POST' });
      return ((await response.json()) as { kid: string }).kid;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
