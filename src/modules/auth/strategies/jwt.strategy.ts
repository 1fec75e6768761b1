import { KeyObject } from 'node:crypto';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { FastifyRequest } from 'fastify';
import { Algorithm, JsonWebTokenError, JwtPayload, NotBeforeError, TokenExpiredError } from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { Principal } from 'src/common/auth/principal';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthenticationService } from 'src/modules/auth/authentication.service';
import { JwtVerifierService } from 'src/modules/auth/jwt-verifier.service';
import { strategyName } from 'src/modules/auth/strategies/strategy-name';

/**
 * Passport strategy for OAuth2/OIDC bearer tokens (passport-jwt): the signing key comes from the
 * identity provider's cached JWKS (`secretOrKeyProvider`), the signature, issuer, audience, expiry and
 * not-before are checked by passport-jwt with the configured algorithm allow-list and clock skew, and
 * the claims become a principal (registered, or auto-provisioned when configured).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'gatehouse-jwt') implements OnModuleDestroy {
  /** The name passport knows this strategy object by. */
  readonly registeredAs = strategyName('jwt');

  constructor(
    private readonly authentication: AuthenticationService,
    verifier: JwtVerifierService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // jsonwebtoken verifies with a KeyObject as well as with a PEM string (passport-jwt's types say string).
      secretOrKeyProvider: (
        _request: FastifyRequest,
        token: string,
        done: (error: unknown, key?: string) => void,
      ) => {
        verifier.keyFor(token).then(
          (key) => (done as (error: unknown, key?: KeyObject) => void)(null, key),
          (error: unknown) => done(error),
        );
      },
      issuer: verifier.issuer,
      audience: verifier.audience,
      algorithms: [...verifier.algorithms] as Algorithm[],
      jsonWebTokenOptions: { clockTolerance: verifier.clockToleranceSeconds },
    });
    passport.use(this.registeredAs, this);
  }

  async validate(claims: JwtPayload): Promise<Principal> {
    // passport-jwt checks `exp` when it is there; a token without one never expires, so it is refused.
    if (typeof claims.exp !== 'number') throw AuthErrors.invalidToken("missing required claim 'exp'");
    return this.authentication.principalForClaims(claims);
  }

  onModuleDestroy(): void {
    passport.unuse(this.registeredAs);
  }
}

/** Why passport-jwt refused a token, in the words the 401 uses (never the token's own content). */
export function jwtFailure(info: unknown): GatewayException {
  if (info instanceof GatewayException) return info;
  if (info instanceof TokenExpiredError) return AuthErrors.invalidToken('token expired');
  if (info instanceof NotBeforeError) return AuthErrors.invalidToken("claim 'nbf' check failed");
  if (info instanceof JsonWebTokenError) {
    const message = info.message;
    if (message.startsWith('jwt audience invalid')) return AuthErrors.invalidToken('unexpected audience');
    if (message.startsWith('jwt issuer invalid')) return AuthErrors.invalidToken('unexpected issuer');
    if (message === 'invalid signature') return AuthErrors.invalidToken('signature verification failed');
    if (message === 'invalid algorithm') return AuthErrors.invalidToken('signing algorithm not allowed');
    if (message === 'jwt malformed' || message === 'jwt signature is required') {
      return AuthErrors.invalidToken('malformed token');
    }
  }
  return AuthErrors.invalidToken('token rejected');
}
