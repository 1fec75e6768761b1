import { availableParallelism } from 'node:os';
import { cgroupCpuLimit, workerCount } from 'src/config/env/lifecycle.env';
import { EnvValidationError, loadAppConfig } from 'src/config/env.config';

describe('loadAppConfig', () => {
  it('applies defaults', () => {
    const config = loadAppConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.GATEWAY_CONFIG).toBe('./gateway.yaml');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.GATEWAY_CONFIG_WATCH).toBe(true);
  });

  it('coerces and validates values', () => {
    const config = loadAppConfig({
      PORT: '9000',
      GATEWAY_CONFIG_WATCH: 'false',
      DATABASE_URL: 'postgres://x@h/db',
    });
    expect(config.PORT).toBe(9000);
    expect(config.GATEWAY_CONFIG_WATCH).toBe(false);
  });

  it('lists every bad key at once and never echoes secret values', () => {
    let error: unknown;
    try {
      loadAppConfig({
        PORT: 'abc',
        DATABASE_URL: 'mysql://user:hunter2@h/db',
        REDIS_URL: 'nope',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvValidationError);
    const problems = (error as EnvValidationError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
      'REDIS_URL',
    ]);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('loadAppConfig: identity and access', () => {
  it('requires an audience when JWTs are enabled, and an issuer with a bare JWKS URL', () => {
    expect(() => loadAppConfig({ AUTH_OIDC_ISSUER: 'https://idp.example.com' })).toThrow(/AUTH_JWT_AUDIENCE/);
    expect(() => loadAppConfig({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_JWT_AUDIENCE: 'gw' })).toThrow(
      /AUTH_JWT_ISSUER/,
    );
    const ok = loadAppConfig({ AUTH_OIDC_ISSUER: 'https://idp.example.com', AUTH_JWT_AUDIENCE: 'gw' });
    expect(ok.AUTH_JWT_ALGORITHMS).toEqual(['RS256', 'PS256', 'ES256', 'EdDSA']);
  });

  it('refuses symmetric and none algorithms, short admin keys and bad master keys without echoing them', () => {
    let error: unknown;
    try {
      loadAppConfig({
        AUTH_JWT_ALGORITHMS: 'RS256,HS256',
        GATEHOUSE_ADMIN_API_KEY: 'short-secret',
        GATEHOUSE_MASTER_KEY: 'bm90LTMyLWJ5dGVz',
      });
    } catch (e) {
      error = e;
    }
    expect((error as EnvValidationError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'AUTH_JWT_ALGORITHMS.1',
      'GATEHOUSE_ADMIN_API_KEY',
      'GATEHOUSE_MASTER_KEY',
    ]);
    expect((error as Error).message).not.toContain('short-secret');
    expect(() => loadAppConfig({ AUTH_JWT_ALGORITHMS: 'none' })).toThrow(EnvValidationError);
  });
});

describe('loadAppConfig: TRUST_PROXY', () => {
  it('parses hop counts and address/CIDR lists', () => {
    expect(loadAppConfig({}).TRUST_PROXY).toBe(false);
    expect(loadAppConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadAppConfig({ TRUST_PROXY: '0' }).TRUST_PROXY).toBe(false);
    expect(loadAppConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadAppConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      'fd00::/8',
    ]);
  });

  it.each([
    'true',
    '*',
    'everyone',
    '0.0.0.0/0',
    '::/0',
    '10.0.0.0/33',
    '10.0.0.0/8/1',
    '300.1.1.1',
    '10.0.0.0/x',
  ])('refuses %s (it would trust any X-Forwarded-For, or is not an address)', (value) => {
    expect(() => loadAppConfig({ TRUST_PROXY: value })).toThrow(EnvValidationError);
  });
});

describe('loadAppConfig: request timeouts', () => {
  it('defaults the body timeout to 60 s and the headers timeout to 60 s', () => {
    const config = loadAppConfig({});
    expect([config.REQUEST_BODY_TIMEOUT_MS, config.REQUEST_HEADERS_TIMEOUT_MS]).toEqual([60_000, 60_000]);
    expect(loadAppConfig({ REQUEST_BODY_TIMEOUT_MS: '1500' }).REQUEST_BODY_TIMEOUT_MS).toBe(1500);
    expect(() => loadAppConfig({ REQUEST_BODY_TIMEOUT_MS: '-1' })).toThrow(EnvValidationError);
  });
});

describe('GATEHOUSE_WORKERS', () => {
  it('defaults to 1 on the embedded database and to the CPU count with DATABASE_URL', () => {
    expect(workerCount(loadAppConfig({}))).toBe(1);
    const noLimit = () => undefined;
    expect(workerCount(loadAppConfig({ DATABASE_URL: 'postgres://x@h/db' }), noLimit)).toBe(
      availableParallelism(),
    );
    expect(workerCount(loadAppConfig({ DATABASE_URL: 'postgres://x@h/db', GATEHOUSE_WORKERS: '3' }))).toBe(3);
  });

  it("defaults to no more workers than a container's CPU limit", () => {
    const pg = loadAppConfig({ DATABASE_URL: 'postgres://x@h/db' });
    expect(workerCount(pg, () => 0.5)).toBe(1);
    expect(workerCount(pg, () => 1)).toBe(1);
    expect(workerCount(pg, () => 1_000)).toBe(availableParallelism());
    expect(workerCount(pg, () => undefined)).toBe(availableParallelism());
    const files = (entries: Record<string, string>) => (path: string) => {
      if (!(path in entries)) throw new Error('ENOENT');
      return entries[path];
    };
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1.5);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    expect(
      cgroupCpuLimit(
        files({
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBe(2);
    expect(
      cgroupCpuLimit(
        files({
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });

  it('refuses more than one worker on the embedded database, and values out of range', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadAppConfig(env);
        return [];
      } catch (error) {
        return (error as EnvValidationError).problems;
      }
    };
    expect(problems({ GATEHOUSE_WORKERS: '2' })).toEqual([
      'GATEHOUSE_WORKERS: more than one worker needs DATABASE_URL: the embedded database (PGlite, DATA_DIR) can have only one owner process',
    ]);
    expect(problems({ GATEHOUSE_WORKERS: '1' })).toEqual([]);
    expect(problems({ GATEHOUSE_WORKERS: '0', DATABASE_URL: 'postgres://x@h/db' })[0]).toMatch(
      /^GATEHOUSE_WORKERS:/,
    );
    expect(problems({ SHUTDOWN_DRAIN_MS: '-1' })[0]).toMatch(/^SHUTDOWN_DRAIN_MS:/);
  });
});
