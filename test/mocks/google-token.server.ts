import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes, verify } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local stand-in for Google's OAuth 2.0 token endpoint for service accounts
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest): `POST` a form with
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion=<RS256 JWT>`, answered with
 * `{access_token, expires_in, token_type}`.
 *
 * It owns a freshly generated RSA key pair and hands out the matching service-account key file (its
 * `token_uri` pointing here). Every assertion's signature is verified with the public key, and its
 * header (`alg`, `kid`) and claims (`iss`, `scope`, `aud`, `iat`, `exp`) are checked, so a signing bug
 * fails the test. Failures answer as Google does: 400 `{"error":"invalid_grant","error_description":…}`.
 */

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export interface GoogleTokenMock {
  url: string;
  tokenUri: string;
  clientEmail: string;
  /** The service-account key file (JSON text) whose token_uri is this server. */
  serviceAccountJson: string;
  /** Assertions received (decoded claims), accepted or not. */
  requests: { claims: Record<string, unknown> | undefined; accepted: boolean }[];
  /** True for a token this server issued that has not expired. */
  isValid(token: string): boolean;
  close(): Promise<void>;
}

export interface GoogleTokenMockOptions {
  /** Lifetime of issued tokens in seconds (Google: 3599). */
  expiresIn?: number;
  /** The key signing assertions differs from the one in the key file (to prove verification). */
  foreignKey?: boolean;
}

export async function startGoogleTokenMock(options: GoogleTokenMockOptions = {}): Promise<GoogleTokenMock> {
  const expiresIn = options.expiresIn ?? 3599;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const verifyKey: KeyObject = options.foreignKey
    ? createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
    : publicKey;
  const keyId = randomBytes(20).toString('hex');
  const clientEmail = 'gatehouse-test@mock-project.iam.gserviceaccount.com';
  const issued = new Map<string, number>();
  const requests: GoogleTokenMock['requests'] = [];
  let sequence = 0;

  const server = createServer((req, res) => {
    void readBody(req).then(
      (raw) => handle(req, res, raw),
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const tokenUri = `${url}/token`;

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/token') {
      return send(res, 404, { error: 'not_found' });
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return grantError(res, 'invalid_request', 'Bad Request');
    }
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== JWT_BEARER_GRANT) {
      return grantError(
        res,
        'unsupported_grant_type',
        'Invalid grant_type: ' + String(form.get('grant_type')),
      );
    }
    const checked = checkAssertion(form.get('assertion') ?? '');
    requests.push({ claims: checked.claims, accepted: checked.error === undefined });
    if (checked.error !== undefined) return grantError(res, 'invalid_grant', checked.error);
    sequence += 1;
    const token = `ya29.mock-${sequence}-${randomBytes(12).toString('hex')}`;
    issued.set(token, Date.now() + expiresIn * 1000);
    send(res, 200, { access_token: token, expires_in: expiresIn, token_type: 'Bearer' });
  }

  function checkAssertion(assertion: string): { claims?: Record<string, unknown>; error?: string } {
    const pieces = assertion.split('.');
    if (pieces.length !== 3)
      return { error: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe' };
    const header = decode(pieces[0]);
    const claims = decode(pieces[1]);
    if (header === undefined || claims === undefined) return { error: 'Invalid JWT format' };
    const signed = verify(
      'RSA-SHA256',
      Buffer.from(`${pieces[0]}.${pieces[1]}`),
      verifyKey,
      Buffer.from(pieces[2], 'base64url'),
    );
    if (header.alg !== 'RS256' || !signed) return { claims, error: 'Invalid JWT Signature.' };
    if (header.kid !== undefined && header.kid !== keyId) return { claims, error: 'Invalid JWT Signature.' };
    if (claims.iss !== clientEmail) return { claims, error: 'Invalid issuer: No client_email' };
    if (claims.aud !== GOOGLE_TOKEN_URI && claims.aud !== tokenUri) {
      return { claims, error: 'Invalid JWT: Failed audience check.' };
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(CLOUD_PLATFORM))
      return { claims, error: 'Invalid OAuth scope or ID token audience provided.' };
    const now = Math.floor(Date.now() / 1000);
    const iat = claims.iat;
    const exp = claims.exp;
    if (
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      iat > now + 60 ||
      exp <= now ||
      exp - iat > 3600
    ) {
      return {
        claims,
        error: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      };
    }
    return { claims };
  }

  const serviceAccountJson = JSON.stringify({
    type: 'service_account',
    project_id: 'mock-project',
    private_key_id: keyId,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUri,
  });

  return {
    url,
    tokenUri,
    clientEmail,
    serviceAccountJson,
    requests,
    isValid: (token) => (issued.get(token) ?? 0) > Date.now(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function decode(piece: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(piece, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function grantError(res: ServerResponse, error: string, description: string): void {
  send(res, 400, { error, error_description: description });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
