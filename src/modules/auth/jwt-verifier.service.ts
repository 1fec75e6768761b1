import { KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { decodeProtectedHeader, errors, JSONWebKeySet, JWTHeaderParameters } from 'jose';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { JwksCache, JwksUnavailableError } from 'src/modules/auth/jwks.cache';
import { OidcHttpClient } from 'src/modules/auth/oidc-http.client';

/**
 * The identity provider's side of bearer-token verification, for the passport-jwt strategy: which key
 * verifies a token (from the cached JWKS, chosen by `kid`/`alg` only; the algorithm must be on the
 * allow-list — never `none`, never HMAC: a public key can't become a shared secret), and the options
 * the signature check runs with (issuer and audience mandatory, bounded clock skew).
 */
@Injectable()
export class JwtVerifierService {
  readonly enabled: boolean;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  private readonly jwks: JwksCache | undefined;
  private discovered: Promise<string> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly http: OidcHttpClient,
  ) {
    this.issuer = config.AUTH_JWT_ISSUER ?? config.AUTH_OIDC_ISSUER;
    this.audience = config.AUTH_JWT_AUDIENCE;
    this.algorithms = config.AUTH_JWT_ALGORITHMS;
    this.clockToleranceSeconds = config.AUTH_JWT_CLOCK_SKEW_SECONDS;
    this.enabled = Boolean(this.issuer && config.AUTH_JWT_AUDIENCE);
    if (this.enabled) {
      this.jwks = new JwksCache({
        url: () => this.jwksUrl(),
        fetch: (url, timeoutMs) => this.http.getJson<JSONWebKeySet>(url, timeoutMs),
        maxAgeMs: config.AUTH_JWKS_MAX_AGE_SECONDS * 1000,
        cooldownMs: config.AUTH_JWKS_COOLDOWN_SECONDS * 1000,
        timeoutMs: config.AUTH_JWKS_TIMEOUT_MS,
      });
    }
  }

  /**
   * The key that must have signed `token`. Throws the 401 the caller gets for a malformed token, an
   * algorithm off the allow-list or an unknown `kid`, and 503 when no keys could ever be fetched.
   */
  async keyFor(token: string): Promise<KeyObject> {
    if (!this.jwks) throw AuthErrors.invalidToken('bearer tokens are not accepted here');
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw AuthErrors.invalidToken('malformed token');
    }
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg)) {
      throw AuthErrors.invalidToken('signing algorithm not allowed');
    }
    const [protectedHeader, payload, signature] = token.split('.');
    try {
      const key = await this.jwks.resolve(header as JWTHeaderParameters, {
        protected: protectedHeader,
        payload,
        signature,
      });
      return key instanceof KeyObject ? key : KeyObject.from(key);
    } catch (error) {
      if (error instanceof JwksUnavailableError) throw AuthErrors.unavailable();
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
        throw AuthErrors.invalidToken('no matching signing key');
      }
      throw AuthErrors.invalidToken('unsupported token');
    }
  }

  private jwksUrl(): Promise<string> {
    if (this.config.AUTH_JWKS_URL) return Promise.resolve(this.config.AUTH_JWKS_URL);
    this.discovered ??= this.discover().catch((error: unknown) => {
      this.discovered = undefined; // try discovery again next time
      throw error;
    });
    return this.discovered;
  }

  private async discover(): Promise<string> {
    const issuer = this.config.AUTH_OIDC_ISSUER!;
    const document = await this.http.getJson<{ issuer?: string; jwks_uri?: string }>(
      `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
      this.config.AUTH_JWKS_TIMEOUT_MS,
    );
    // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
    if (document.issuer !== issuer || typeof document.jwks_uri !== 'string') {
      throw new Error('discovery document does not match the configured issuer');
    }
    return document.jwks_uri;
  }
}
