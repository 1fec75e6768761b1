import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { AuthGuard, IAuthGuard } from '@nestjs/passport';
import { FastifyReply, FastifyRequest } from 'fastify';
import passport from 'passport';
import { IS_PUBLIC_KEY } from 'src/common/auth/auth.decorators';
import { Principal } from 'src/common/auth/principal';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { Telemetry } from 'src/common/observability/telemetry';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthenticationService } from 'src/modules/auth/authentication.service';
import { extractCredential, looksLikeJwt } from 'src/modules/auth/credentials';
import { JwtVerifierService } from 'src/modules/auth/jwt-verifier.service';
import { ApiKeyStrategy } from 'src/modules/auth/strategies/api-key.strategy';
import { jwtFailure, JwtStrategy } from 'src/modules/auth/strategies/jwt.strategy';

/** @nestjs/passport's guard for one strategy, putting the principal where every later stage reads it. */
function passportGuard(strategy: string, failure: (info: unknown) => GatewayException): IAuthGuard {
  class StrategyGuard extends AuthGuard(strategy) {
    override handleRequest<T>(error: unknown, user: T, info: unknown): T {
      // The strategies report their own GatewayExceptions; anything else is a bug, not a 401.
      if (error) throw error instanceof Error ? error : new Error('authentication strategy failed');
      if (!user) throw failure(info);
      return user;
    }
  }
  return new StrategyGuard({ property: 'principal', session: false });
}

/**
 * Default-deny authentication, the first global guard: every route authenticates unless it is marked
 * @Public(). A bearer token shaped like a JWT goes to the passport-jwt strategy (when an identity
 * provider is configured), anything else to the API-key strategy. Bad credentials count towards the
 * source address's failure limit (as do JWKS outages caused by forged tokens); denials are audited.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  private readonly apiKeys: IAuthGuard;
  private readonly tokens: IAuthGuard;
  private readonly strategies: { apiKey: string; jwt: string };

  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: AuthenticationService,
    private readonly jwt: JwtVerifierService,
    private readonly audit: AuditService,
    private readonly telemetry: Telemetry,
    apiKeyStrategy: ApiKeyStrategy,
    jwtStrategy: JwtStrategy,
  ) {
    this.strategies = { apiKey: apiKeyStrategy.registeredAs, jwt: jwtStrategy.registeredAs };
    this.apiKeys = passportGuard(this.strategies.apiKey, () => AuthErrors.invalidApiKey());
    this.tokens = passportGuard(this.strategies.jwt, jwtFailure);
  }

  /**
   * The principal of a request's credential, if it has a valid one, on a public route that shows more
   * to some callers (readiness detail): nothing is refused, counted or audited.
   */
  identify(request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
    const credential = extractCredential(request.headers, request.url);
    if (credential.kind !== 'secret') return Promise.resolve(undefined);
    const strategy =
      looksLikeJwt(credential.value) && this.jwt.enabled ? this.strategies.jwt : this.strategies.apiKey;
    return new Promise((resolve) => {
      const done = (error: unknown, user: unknown) =>
        resolve(error || !user ? undefined : (user as Principal));
      const middleware = passport.authenticate(strategy, { session: false }, done) as (
        request: FastifyRequest,
        reply: FastifyReply,
        next: () => void,
      ) => void;
      middleware(request, reply, () => resolve(undefined));
    });
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    // Protected routes are authenticated before their body is read (the early authentication hook).
    if (request.principal) return true;
    return this.authenticate(request, http.getResponse<FastifyReply>()).then(() => true);
  }

  /**
   * Authenticates a request to a protected route through the passport strategy its credential calls
   * for, and sets `request.principal`. Throws the 401/403/429/503 the caller gets.
   */
  async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const source = request.ip ?? 'unknown';
    const failures = this.authentication.failures;
    const wait = failures.blockedFor(source);
    if (wait > 0) throw AuthErrors.tooManyFailures(wait);
    const credential = extractCredential(request.headers, request.url);
    if (credential.kind === 'none') throw AuthErrors.missingCredentials();
    try {
      if (credential.kind === 'malformed') throw AuthErrors.malformed();
      const guard = looksLikeJwt(credential.value) && this.jwt.enabled ? this.tokens : this.apiKeys;
      // @nestjs/passport's guards read the request and reply through an execution context.
      const context = new ExecutionContextHost([request, reply]);
      await this.telemetry.phase('auth', undefined, () => guard.canActivate(context) as Promise<boolean>);
    } catch (error) {
      if (
        error instanceof GatewayException &&
        (error.status === 401 || error.status === 403 || error.status === 503)
      ) {
        // A bad credential, or a token whose keys cannot be fetched (forged kids), counts towards the
        // source's limit; a valid token of an unregistered or disabled principal (403) is a denial to
        // audit, not a guess.
        if (error.status !== 403) failures.recordFailure(source);
        this.audit.denied(request, {
          action: 'auth.authenticate',
          targetType: 'route',
          targetId: routeOf(request),
        });
      }
      throw error;
    }
  }
}

function routeOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions?.url ?? request.url.split('?')[0]}`.slice(0, 256);
}
