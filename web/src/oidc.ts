import type { Body } from './api';

export type OidcSettings = NonNullable<Body<'/admin/v1/console/config', 'get'>['oidc']>;

/** What survives the round trip to the provider (this tab only): the PKCE verifier and the state. */
interface Pending {
  state: string;
  verifier: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
  returnTo: string;
}

const PENDING_KEY = 'gatehouse.oidc.pending';

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomToken(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The console's own address: the provider sends the browser back here with `?code=…&state=…`. */
function redirectUri(): string {
  return `${location.origin}/ui/`;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

/**
 * The provider's discovery document. Its issuer must be the configured one (a mix-up defence), and the
 * code is exchanged only on the issuer's origin: that is the one origin the CSP lets the console reach.
 */
async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok)
    throw new Error(`The identity provider's discovery document answered ${response.status}.`);
  const doc = (await response.json()) as Partial<Discovery>;
  if (doc.issuer !== issuer) throw new Error('The identity provider names a different issuer.');
  if (!doc.authorization_endpoint || !doc.token_endpoint)
    throw new Error('The identity provider has no code flow.');
  if (new URL(doc.token_endpoint).origin !== new URL(issuer).origin)
    throw new Error("The identity provider's token endpoint is on another origin than its issuer.");
  return doc as Discovery;
}

/** Leaves for the provider's sign-in page: authorization code with PKCE (S256) and a fresh state. */
export async function beginSignIn(settings: OidcSettings): Promise<void> {
  if (!crypto.subtle) throw new Error('Signing in with the identity provider needs HTTPS (or localhost).');
  const discovery = await discover(settings.issuer);
  const verifier = randomToken(32);
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  const pending: Pending = {
    state: randomToken(16),
    verifier,
    tokenEndpoint: discovery.token_endpoint,
    clientId: settings.clientId,
    redirectUri: redirectUri(),
    returnTo: location.hash,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: pending.redirectUri,
    scope: settings.scopes.join(' '),
    state: pending.state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** Is this page load the provider sending the browser back (with a code or an error)? */
export function isCallback(): boolean {
  const params = new URLSearchParams(location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

/**
 * Finishes a sign-in: the state must be the one this tab sent (else the answer is not ours), then the
 * code is exchanged with the verifier for an access token. The code leaves the address bar at once.
 */
export async function completeSignIn(): Promise<string> {
  const params = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const pending = raw ? (JSON.parse(raw) as Pending) : null;
  history.replaceState(null, '', `${location.pathname}${pending?.returnTo ?? ''}`);
  if (!pending || params.get('state') !== pending.state)
    throw new Error('This sign-in answer was not started from this tab; please sign in again.');
  const error = params.get('error');
  if (error)
    throw new Error(`The identity provider refused the sign-in: ${params.get('error_description') ?? error}`);
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!response.ok || !body.access_token)
    throw new Error(`The code exchange failed: ${body.error_description ?? body.error ?? response.status}`);
  return body.access_token;
}
