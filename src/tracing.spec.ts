import { loadAppConfig } from 'src/config/env.config';
import { activeTracing, startTracing, tracingSettings } from 'src/tracing';

const settings = (env: Record<string, string>) => tracingSettings(loadAppConfig(env));

describe('tracing settings (OTEL_* through the env schema)', () => {
  it('is off by default, and nothing is started', async () => {
    expect(settings({}).enabled).toBe(false);
    expect(await startTracing(loadAppConfig({}))).toBeUndefined();
    expect(activeTracing()).toBeUndefined();
  });

  it('turns on with an OTLP endpoint: traces to <endpoint>/v1/traces over HTTP/protobuf', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      enabled: true,
      exporter: 'otlp',
      protocol: 'http/protobuf',
      url: 'http://collector:4318/v1/traces',
    });
  });

  it('prefers the traces endpoint and protocol, and merges headers', () => {
    expect(
      settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=ops,authorization=Basic%20abc',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=sre',
      }),
    ).toMatchObject({
      enabled: true,
      protocol: 'http/json',
      url: 'https://traces.example.com/otlp/v1/traces',
      headers: { 'x-tenant': 'sre', authorization: 'Basic abc' },
    });
  });

  it('follows OTEL_TRACES_EXPORTER and OTEL_SDK_DISABLED', () => {
    expect(settings({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({
      enabled: true,
      exporter: 'console',
    });
    expect(
      settings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled,
    ).toBe(false);
    expect(
      settings({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled,
    ).toBe(false);
  });

  it('refuses bad values at boot, listing each key without echoing header values', () => {
    let message = '';
    try {
      loadAppConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '1.5',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: 'secret-token-value',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const key of [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_HEADERS',
    ]) {
      expect(message).toContain(key);
    }
    expect(message).not.toContain('secret-token-value');
  });

  it('defaults the service name and the parent-based sampler', () => {
    const config = loadAppConfig({});
    expect(config.OTEL_SERVICE_NAME).toBe('gatehouse');
    expect(config.OTEL_TRACES_SAMPLER).toBe('parentbased_always_on');
    expect(config.GATEHOUSE_TRACE_CONTENT).toBe(false);
  });
});
