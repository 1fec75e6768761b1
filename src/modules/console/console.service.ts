import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { ConsoleConfigDto } from 'src/modules/console/dto/console-config.dto';

/**
 * The console's sign-in settings. The issuer is the one whose tokens the gateway verifies
 * (AUTH_OIDC_ISSUER): a token from any other provider would be refused by the admin API anyway.
 */
export function consoleOidc(config: AppConfig): ConsoleConfigDto['oidc'] {
  if (!config.CONSOLE_OIDC_CLIENT_ID || !config.AUTH_OIDC_ISSUER) return null;
  return {
    issuer: config.AUTH_OIDC_ISSUER,
    clientId: config.CONSOLE_OIDC_CLIENT_ID,
    scopes: config.CONSOLE_OIDC_SCOPES.split(' '),
  };
}

/** Origins the console's scripts may connect to besides its own: the identity provider's, for PKCE. */
export function consoleConnectOrigins(config: AppConfig): string[] {
  const oidc = consoleOidc(config);
  return oidc ? [new URL(oidc.issuer).origin] : [];
}

@Injectable()
export class ConsoleService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  settings(): ConsoleConfigDto {
    return { oidc: consoleOidc(this.config) };
  }
}
