import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { FastifyRequest } from 'fastify';
import passport from 'passport';
import { Strategy } from 'passport-custom';
import { Principal } from 'src/common/auth/principal';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthenticationService } from 'src/modules/auth/authentication.service';
import { extractCredential } from 'src/modules/auth/credentials';
import { strategyName } from 'src/modules/auth/strategies/strategy-name';

/**
 * Passport strategy for Gatehouse API keys, sent as `Authorization: Bearer`, `x-api-key` or the HTTP
 * Basic password (the MLflow client's): SHA-256 of the key, then the principal from the in-memory
 * snapshot (no database read). Registered under a name of its own per application instance, so that
 * several gateways in one process (tests, replicas) never share one.
 */
@Injectable()
export class ApiKeyStrategy
  extends PassportStrategy(Strategy, 'gatehouse-api-key')
  implements OnModuleDestroy
{
  /** The name passport knows this strategy object by. */
  readonly registeredAs = strategyName('api-key');

  constructor(private readonly authentication: AuthenticationService) {
    super();
    passport.use(this.registeredAs, this);
  }

  validate(request: FastifyRequest): Principal {
    const credential = extractCredential(request.headers, request.url);
    if (credential.kind !== 'secret') throw AuthErrors.malformed();
    return this.authentication.principalForApiKey(credential.value);
  }

  onModuleDestroy(): void {
    passport.unuse(this.registeredAs);
  }
}
