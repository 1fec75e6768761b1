import { EnvValidationError, loadAppConfig } from 'src/config/env.config';
import { CONSOLE_CSP, consoleCsp } from 'src/modules/console/console-assets';
import { consoleConnectOrigins, ConsoleService } from 'src/modules/console/console.service';

const OIDC = {
  AUTH_OIDC_ISSUER: 'https://sso.example.com/realms/bank',
  AUTH_JWT_AUDIENCE: 'gatehouse',
};

describe('console sign-in settings', () => {
  it('offers no OIDC sign-in without a console client id, and the CSP connects to the gateway only', () => {
    const config = loadAppConfig(OIDC);
    expect(new ConsoleService(config).settings()).toEqual({ oidc: null });
    expect(consoleConnectOrigins(config)).toEqual([]);
    expect(consoleCsp(consoleConnectOrigins(config))).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("connect-src 'self';");
  });

  it('exposes issuer, public client id and scopes; the CSP adds only the issuer origin to connect-src', () => {
    const config = loadAppConfig({
      ...OIDC,
      CONSOLE_OIDC_CLIENT_ID: 'gatehouse-console',
      CONSOLE_OIDC_SCOPES: 'openid profile api://gatehouse/admin',
    });
    expect(new ConsoleService(config).settings()).toEqual({
      oidc: {
        issuer: 'https://sso.example.com/realms/bank',
        clientId: 'gatehouse-console',
        scopes: ['openid', 'profile', 'api://gatehouse/admin'],
      },
    });
    const csp = consoleCsp(consoleConnectOrigins(config));
    expect(csp).toContain("connect-src 'self' https://sso.example.com;");
    // Only connect-src changes: scripts, styles and frames stay on the gateway's origin.
    expect(csp.replace(' https://sso.example.com', '')).toBe(CONSOLE_CSP);
  });

  it('refuses a console client id without an issuer, and malformed scopes, at boot', () => {
    expect(() => loadAppConfig({ CONSOLE_OIDC_CLIENT_ID: 'c' })).toThrow(EnvValidationError);
    expect(() => loadAppConfig({ CONSOLE_OIDC_CLIENT_ID: 'c' })).toThrow(
      /CONSOLE_OIDC_CLIENT_ID: needs AUTH_OIDC_ISSUER/,
    );
    expect(() => loadAppConfig({ ...OIDC, CONSOLE_OIDC_SCOPES: 'openid  "x"' })).toThrow(
      /CONSOLE_OIDC_SCOPES/,
    );
    expect(loadAppConfig(OIDC).CONSOLE_OIDC_SCOPES).toBe('openid');
  });
});
