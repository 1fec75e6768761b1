import { createHash, createPrivateKey } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { gaxios, GoogleAuth, JWT } from 'google-auth-library';
import { ProviderConfigError, ProviderAuthError } from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/gemini/gemini.types';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Where google-auth-library sends every service-account token request. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** Refresh a little before expiry so a token never lapses between our check and Google's. */
const REFRESH_MARGIN_MS = 60_000;

/** The parts of a service-account key file we use (https://cloud.google.com/iam/docs/keys-create-delete). */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/** An OAuth2 access token for Google Cloud, cached until shortly before it expires. */
export interface AccessTokenSource {
  token(): Promise<string>;
}

/**
 * Reads `vertex_credentials` as MLflow does (`service_account.Credentials.from_service_account_info`):
 * a service-account key as JSON text (the loader has already read a key file path or `$VAR`), or the
 * same as a YAML mapping. The key is checked here so a broken one fails at load, not on first use.
 */
export function parseServiceAccountKey(raw: unknown, provider: string): ServiceAccountKey {
  let info: unknown = raw;
  if (typeof raw === 'string') {
    try {
      info = JSON.parse(raw);
    } catch {
      throw new ProviderConfigError(
        `vertex_credentials must be a service account key (JSON text, or a path to the JSON file) for provider '${provider}'`,
      );
    }
  }
  if (!isRecord(info) || info.type !== 'service_account') {
    throw new ProviderConfigError(
      `vertex_credentials must be a service account key ("type": "service_account") for provider '${provider}'`,
    );
  }
  const email = info.client_email;
  const key = info.private_key;
  if (typeof email !== 'string' || email === '' || typeof key !== 'string' || key === '') {
    throw new ProviderConfigError(
      `vertex_credentials needs client_email and private_key for provider '${provider}'`,
    );
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new ProviderConfigError(
      `vertex_credentials.private_key is not a PEM private key for provider '${provider}'`,
    );
  }
  const tokenUri = info.token_uri === undefined ? GOOGLE_TOKEN_URI : info.token_uri;
  if (typeof tokenUri !== 'string' || !isAcceptableTokenUri(tokenUri)) {
    throw new ProviderConfigError(
      `vertex_credentials.token_uri must be an https URL (http only on the loopback interface) for provider '${provider}'`,
    );
  }
  return {
    client_email: email,
    private_key: key,
    private_key_id: typeof info.private_key_id === 'string' ? info.private_key_id : undefined,
    token_uri: tokenUri,
  };
}

function isAcceptableTokenUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

interface Token {
  value: string;
  expiresAt: number;
}

/** One token at a time: concurrent callers share a single refresh. */
class CachedTokenSource implements AccessTokenSource {
  private cached: Token | undefined;
  private pending: Promise<string> | undefined;
  private readonly logger = new Logger('VertexAICredentials');

  constructor(
    private readonly fetchToken: () => Promise<Token>,
    private readonly label: string,
    private readonly now: () => number,
  ) {}

  token(): Promise<string> {
    const cached = this.cached;
    if (cached !== undefined && cached.expiresAt - REFRESH_MARGIN_MS > this.now()) {
      return Promise.resolve(cached.value);
    }
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async refresh(): Promise<string> {
    let token: Token;
    try {
      token = await this.fetchToken();
    } catch (error) {
      // The operator sees why (Google's error text holds no secret); the caller only sees a 502.
      this.logger.warn(
        `could not obtain an access token for ${this.label}: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw new ProviderAuthError('no access token');
    }
    this.cached = token;
    return token.value;
  }
}

/**
 * A service-account token exchanged through google-auth-library (a signed JWT assertion posted to the
 * token endpoint). google-auth-library always posts to Google's endpoint; the key's own `token_uri`
 * (as the Python library honours it) is applied by rewriting that one URL in its HTTP client.
 */
function serviceAccountSource(key: ServiceAccountKey, now: () => number): CachedTokenSource {
  const transporter = new gaxios.Gaxios();
  if (key.token_uri !== GOOGLE_TOKEN_URI) {
    transporter.interceptors.request.add({
      resolved: (options) => {
        if (options.url.href === GOOGLE_TOKEN_URI) options.url = new URL(key.token_uri);
        return Promise.resolve(options);
      },
    });
  }
  return new CachedTokenSource(
    async () => {
      // A fresh client per exchange: the library's own token cache would otherwise answer our refresh.
      const client = new JWT({
        email: key.client_email,
        key: key.private_key,
        keyId: key.private_key_id,
        scopes: [CLOUD_PLATFORM_SCOPE],
        transporter,
      });
      const credentials = await client.authorize();
      return toToken(credentials.access_token, credentials.expiry_date, now);
    },
    key.client_email,
    now,
  );
}

/** Application Default Credentials, as MLflow falls back to `google.auth.default()` without a key. */
function applicationDefaultSource(now: () => number): CachedTokenSource {
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
  return new CachedTokenSource(
    async () => {
      const client = await auth.getClient();
      const { token } = await client.getAccessToken();
      return toToken(token, client.credentials.expiry_date, now);
    },
    'application default credentials',
    now,
  );
}

function toToken(
  value: string | null | undefined,
  expiry: number | null | undefined,
  now: () => number,
): Token {
  if (typeof value !== 'string' || value === '')
    throw new Error('the token endpoint returned no access_token');
  // Without an expiry, assume Google's default lifetime of one hour.
  return { value, expiresAt: typeof expiry === 'number' ? expiry : now() + 3_600_000 };
}

/**
 * Token sources live across config reloads (a reload builds new targets): one per distinct key, so a
 * reload neither refetches tokens nor multiplies token requests.
 */
const sources = new Map<string, CachedTokenSource>();

export function tokenSourceFor(
  key: ServiceAccountKey | undefined,
  now: () => number = Date.now,
): AccessTokenSource {
  const id =
    key === undefined
      ? 'adc'
      : createHash('sha256')
          .update(
            JSON.stringify([key.client_email, key.private_key, key.private_key_id ?? '', key.token_uri]),
          )
          .digest('hex');
  let source = sources.get(id);
  if (source === undefined) {
    source = key === undefined ? applicationDefaultSource(now) : serviceAccountSource(key, now);
    sources.set(id, source);
  }
  return source;
}

/** For tests: forget every cached token. */
export function clearTokenSources(): void {
  sources.clear();
}
