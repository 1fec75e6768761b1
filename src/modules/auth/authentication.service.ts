import { Inject, Injectable, Logger } from '@nestjs/common';
import { JWTPayload } from 'jose';
import { Principal } from 'src/common/auth/principal';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { digestMatches, hashApiKey } from 'src/modules/auth/api-key.codec';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthFailureLimiter } from 'src/modules/auth/auth-failure.limiter';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthSnapshotService, toPrincipal } from 'src/modules/auth/auth-snapshot.service';
import { JwtVerifierService } from 'src/modules/auth/jwt-verifier.service';
import { isPermission, isRole } from 'src/modules/auth/permissions';

/**
 * Turns a verified credential into a Principal, from memory on the warm path: an API key's hash, or a
 * bearer token's claims (the passport strategies call it), and keeps the per-source failure limiter.
 */
@Injectable()
export class AuthenticationService {
  private readonly logger = new Logger('Authentication');
  readonly failures: AuthFailureLimiter;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly snapshot: AuthSnapshotService,
    private readonly jwt: JwtVerifierService,
    private readonly repository: AuthRepository,
  ) {
    this.failures = new AuthFailureLimiter(
      config.AUTH_FAILURE_LIMIT,
      config.AUTH_FAILURE_WINDOW_SECONDS * 1000,
    );
  }

  principalForApiKey(value: string): Principal {
    const digest = hashApiKey(value);
    const entry = this.snapshot.keyByHash(digest);
    if (!entry || !digestMatches(digest, entry.key.sha256)) throw AuthErrors.invalidApiKey();
    if (entry.key.expiresAt && entry.key.expiresAt.getTime() <= Date.now()) throw AuthErrors.invalidApiKey();
    return entry.principal;
  }

  /**
   * The caller that submitted deferred work (a batch), as it stands now: through its API key when it used
   * one (a revoked or expired key, or a disabled principal, no longer runs anything), else its principal
   * record's roles (token-only roles and scopes are not kept).
   */
  principalForDeferredWork(principalId: string, apiKeyId: string | null): Principal {
    if (apiKeyId !== null) {
      const entry = this.snapshot.keyById(apiKeyId);
      if (!entry || (entry.key.expiresAt && entry.key.expiresAt.getTime() <= Date.now()))
        throw AuthErrors.invalidApiKey();
      return entry.principal;
    }
    const record = this.snapshot.principal(principalId);
    if (!record || record.disabled) throw AuthErrors.forbidden('This principal is disabled.');
    return toPrincipal(record);
  }

  /** The principal of a verified token's claims (roles, scopes and team from the configured claims). */
  async principalForClaims(claims: JWTPayload): Promise<Principal> {
    const issuer = this.jwt.issuer!;
    const subject = stringClaim(claims, this.config.AUTH_JWT_PRINCIPAL_CLAIM) ?? stringClaim(claims, 'sub');
    if (!subject)
      throw AuthErrors.invalidToken(`missing required claim '${this.config.AUTH_JWT_PRINCIPAL_CLAIM}'`);
    const tokenRoles = listClaim(claims, this.config.AUTH_JWT_ROLES_CLAIM).filter(isRole);
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(isPermission) : [];
    let record = this.snapshot.principalBySubject(issuer, subject);
    if (!record && this.config.AUTH_JWT_AUTO_PROVISION)
      record = await this.provision(issuer, subject, claims);
    if (!record) throw AuthErrors.notRegistered();
    if (record.disabled) throw AuthErrors.forbidden('This principal is disabled.');
    const principal = toPrincipal(record, undefined, tokenRoles);
    const teamName = this.config.AUTH_JWT_TEAM_CLAIM
      ? stringClaim(claims, this.config.AUTH_JWT_TEAM_CLAIM)
      : undefined;
    const team = teamName ? this.snapshot.teamByName(teamName) : undefined;
    return {
      ...principal,
      permissions: new Set([...principal.permissions, ...scopes]),
      teamId: team?.id ?? principal.teamId,
    };
  }

  /** First call of an unknown principal from the trusted issuer: registered into the default team. */
  private async provision(issuer: string, subject: string, claims: JWTPayload) {
    const record = await this.repository.transaction(async (m) => {
      const teamName = this.config.AUTH_JWT_DEFAULT_TEAM;
      const team =
        (await this.repository.insertTeam(teamName, 'Auto-provisioned principals', m)) ??
        (await this.repository.findTeamByName(teamName, m));
      await this.repository.insertPrincipal(
        {
          kind: claims.client_id === subject || !claims.email ? 'service' : 'user',
          name: (stringClaim(claims, 'preferred_username') ?? stringClaim(claims, 'name') ?? subject).slice(
            0,
            256,
          ),
          teamId: team?.id ?? null,
          roles: [this.config.AUTH_JWT_DEFAULT_ROLE],
          issuer,
          subject,
        },
        m,
      );
      return this.repository.findPrincipalBySubject(issuer, subject, m);
    });
    this.logger.log(`auto-provisioned principal ${record?.id} for subject ${subject.slice(0, 64)}`);
    await this.snapshot.changed();
    return record;
  }
}

function claimAt(claims: JWTPayload, path: string): unknown {
  let current: unknown = claims;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function stringClaim(claims: JWTPayload, path: string): string | undefined {
  const value = claimAt(claims, path);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A roles claim may be a JSON array or a space-separated string. */
function listClaim(claims: JWTPayload, path: string): string[] {
  const value = claimAt(claims, path);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}
