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
