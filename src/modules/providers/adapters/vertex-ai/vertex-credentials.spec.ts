import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderConfigError, ProviderAuthError } from 'src/modules/providers/provider-adapter';
import {
  clearTokenSources,
  GOOGLE_TOKEN_URI,
  parseServiceAccountKey,
  tokenSourceFor,
} from 'src/modules/providers/adapters/vertex-ai/vertex-credentials';
import { GoogleTokenMock, startGoogleTokenMock } from 'test/mocks/google-token.server';

describe('Vertex AI service-account tokens', () => {
  let mock: GoogleTokenMock;

  beforeAll(async () => {
    mock = await startGoogleTokenMock();
  });
  afterAll(async () => {
    await mock?.close();
  });
  beforeEach(() => {
    clearTokenSources();
    mock.requests.length = 0;
  });

  it('exchanges a signed JWT assertion at the key file token_uri and caches the token until near expiry', async () => {
    let now = Date.now();
    const source = tokenSourceFor(parseServiceAccountKey(mock.serviceAccountJson, 'vertex-ai'), () => now);
    const [a, b] = await Promise.all([source.token(), source.token()]);
    expect(a).toBe(b);
    expect(mock.isValid(a)).toBe(true);
    // Concurrent callers share one exchange; the mock verified the RS256 signature and the claims.
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]).toMatchObject({
      accepted: true,
      claims: {
        iss: mock.clientEmail,
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        aud: GOOGLE_TOKEN_URI,
      },
    });
    now += 30 * 60_000;
    expect(await source.token()).toBe(a);
    expect(mock.requests).toHaveLength(1);
    // Within the last minute of its hour the token is replaced. (The library dates the expiry by the real
    // clock when the exchange answered, so a slow exchange on a busy machine must not matter: 59.5 min.)
    now += 29 * 60_000 + 30_000;
    const renewed = await source.token();
    expect(renewed).not.toBe(a);
    expect(mock.requests).toHaveLength(2);
  });

  it('shares one source per key across config reloads', () => {
    const key = parseServiceAccountKey(mock.serviceAccountJson, 'vertex-ai');
    expect(tokenSourceFor(key)).toBe(
      tokenSourceFor(parseServiceAccountKey(mock.serviceAccountJson, 'vertex-ai')),
    );
  });

  it('fails with ProviderAuthError when the token endpoint refuses the assertion', async () => {
    const foreign = await startGoogleTokenMock({ foreignKey: true });
    try {
      const source = tokenSourceFor(parseServiceAccountKey(foreign.serviceAccountJson, 'vertex-ai'));
      await expect(source.token()).rejects.toBeInstanceOf(ProviderAuthError);
      expect(foreign.requests).toEqual([expect.objectContaining({ accepted: false })]);
    } finally {
      await foreign.close();
    }
  });

  it('without a key uses Application Default Credentials (here: the metadata server)', async () => {
    const seen: string[] = [];
    const metadata = createServer((req, res) => {
      seen.push(`${req.url ?? ''} ${String(req.headers['metadata-flavor'])}`);
      res.writeHead(200, { 'content-type': 'application/json', 'metadata-flavor': 'Google' });
      res.end(
        JSON.stringify({ access_token: 'ya29.metadata-token', expires_in: 3599, token_type: 'Bearer' }),
      );
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    const saved = { ...process.env };
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.CLOUDSDK_CONFIG = mkdtempSync(join(tmpdir(), 'gcloud-'));
    process.env.METADATA_SERVER_DETECTION = 'assume-present';
    process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
    try {
      const source = tokenSourceFor(undefined);
      expect(await source.token()).toBe('ya29.metadata-token');
      expect(await source.token()).toBe('ya29.metadata-token');
      // One token request (with the cloud-platform scope and the metadata header), then the cache.
      expect(seen.filter((line) => line.includes('/token'))).toEqual([
        '/computeMetadata/v1/instance/service-accounts/default/token?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform Google',
      ]);
    } finally {
      process.env = saved;
      await new Promise<void>((resolve) => metadata.close(() => resolve()));
    }
  });

  it('validates the key at load', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const key = { type: 'service_account', client_email: 'a@b.iam.gserviceaccount.com', private_key: pem };
    expect(parseServiceAccountKey(key, 'vertex-ai').token_uri).toBe(GOOGLE_TOKEN_URI);
    const cases: [unknown, string][] = [
      ['not json', 'vertex_credentials must be a service account key (JSON text'],
      [{ ...key, type: 'authorized_user' }, '"type": "service_account"'],
      [{ ...key, client_email: '' }, 'needs client_email and private_key'],
      [{ ...key, private_key: 'garbage' }, 'is not a PEM private key'],
      [{ ...key, token_uri: 'http://169.254.169.254/token' }, 'token_uri must be an https URL'],
    ];
    for (const [raw, message] of cases) {
      expect(() => parseServiceAccountKey(raw, 'vertex-ai')).toThrow(ProviderConfigError);
      expect(() => parseServiceAccountKey(raw, 'vertex-ai')).toThrow(message);
    }
  });
});
