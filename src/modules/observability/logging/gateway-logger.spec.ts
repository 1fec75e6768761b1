import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { loadAppConfig } from 'src/config/env.config';
import { createGatewayLog, PinoNestLogger } from 'src/modules/observability/logging/gateway-logger';

function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const log = createGatewayLog(loadAppConfig({ LOG_LEVEL: level }), stream);
  return { log, lines, raw, nest: new PinoNestLogger(log.logger) };
}

describe('gateway logger (pino behind Nest)', () => {
  it('writes JSON lines with level names, service, context and message', () => {
    const { nest, lines } = capture();
    nest.log('applied config abc', 'GatewayConfig');
    nest.warn('registry is stale', 'Registry');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'gatehouse',
        context: 'GatewayConfig',
        msg: 'applied config abc',
      }),
      expect.objectContaining({ level: 'warn', context: 'Registry', msg: 'registry is stale' }),
    ]);
    expect(typeof lines[0].time).toBe('string');
  });

  it('keeps the stack of an error and redacts a key an exception message echoes', () => {
    const { nest, raw, lines } = capture();
    const key = 'sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1';
    const error = new Error(`upstream 401: invalid x-api-key ${key}`);
    nest.error(`request failed: ${error.message}`, error.stack, 'Errors');
    expect(raw.join('\n')).not.toContain(key);
    expect(lines[0]).toMatchObject({ level: 'error', context: 'Errors' });
    expect(String(lines[0].msg)).toContain('[REDACTED]');
    expect(String(lines[0].stack)).toContain('gateway-logger.spec.ts');
  });

  it('filters by LOG_LEVEL and turns Nest boot chatter into debug', () => {
    const { nest, lines } = capture('info');
    nest.log('Mapped {/v1/models, GET} route', 'RouterExplorer');
    nest.debug('details', 'Cache');
    nest.log('kept', 'Main');
    expect(lines.map((l) => l.msg)).toEqual(['kept']);
  });

  it('serves `new Logger(ctx)` once installed as the application logger', () => {
    const { nest, lines } = capture();
    Logger.overrideLogger(nest);
    try {
      new Logger('Invocation').error('listener failed');
    } finally {
      Logger.overrideLogger(false);
    }
    expect(lines).toEqual([
      expect.objectContaining({ level: 'error', context: 'Invocation', msg: 'listener failed' }),
    ]);
  });
});
