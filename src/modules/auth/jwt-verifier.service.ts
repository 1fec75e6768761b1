import { Inject, Injectable } from '@nestjs/common';
import { errors, JSONWebKeySet, jwtVerify, JWTPayload } from 'jose';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { JwksCache, JwksUnavailableError } from 'src/modules/auth/jwks.cache';
import { OidcHttpClient } from 'src/modules/auth/oidc-http.client';

/**
 * Verifies OAuth2/OIDC bearer tokens: signature against the IdP's JWKS, issuer and audience mandatory,
 * algorithms from an allowlist (never `none`, never HMAC: a public key can't become a shared secret),
 * `exp` required, bounded clock skew.
 */
@Injectable()
export class JwtVerifierService {
  readonly enabled: boolean;
  readonly issuer: string | undefined;
  private readonly jwks: JwksCache | undefined;
  private discovered: Promise<string> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly http: OidcHttpClient,
  ) {
    this.issuer = config.AUTH_JWT_ISSUER ?? config.AUTH_OIDC_ISSUER;
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

  async verify(token: string): Promise<JWTPayload> {
    if (!this.jwks || !this.issuer) throw AuthErrors.invalidToken('bearer tokens are not accepted here');
    try {
      const { payload } = await jwtVerify(token, this.jwks.resolve, {
        issuer: this.issuer,
        audience: this.config.AUTH_JWT_AUDIENCE,
        algorithms: this.config.AUTH_JWT_ALGORITHMS,
        clockTolerance: this.config.AUTH_JWT_CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'iss', 'aud'],
      });
      return payload;
    } catch (error) {
      if (error instanceof JwksUnavailableError) throw AuthErrors.unavailable();
      throw AuthErrors.invalidToken(reason(error));
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

function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'unexpected issuer';
    if (error.claim === 'aud') return 'unexpected audience';
    if (error.reason === 'missing') return `missing required claim '${error.claim}'`;
    return `claim '${error.claim}' check failed`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'signing algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no matching signing key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  if (error instanceof errors.JOSENotSupported) return 'unsupported token';
  return 'token rejected';
}
