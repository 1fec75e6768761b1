import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TextMapPropagator } from '@opentelemetry/api';
import type { AppConfig } from 'src/config/env.config';

/** What `startTracing` derived from the validated OTEL_* keys. */
export interface TracingSettings {
  enabled: boolean;
  exporter: 'otlp' | 'console';
  protocol: 'http/protobuf' | 'http/json';
  /** Full URL of the traces receiver (OTLP). */
  url: string | undefined;
  headers: Record<string, string>;
  traceContent: boolean;
}

export interface TracingHandle {
  settings: TracingSettings;
  /** Flushes the spans still buffered and stops exporting (on shutdown). */
  shutdown(): Promise<void>;
}

const GATEHOUSE_VERSION = '0.1.0';

let active: TracingHandle | undefined;

/** The tracing started by this process, if any (the SDK is process-wide). */
export function activeTracing(): TracingHandle | undefined {
  return active;
}

/**
 * Tracing is off unless an OTLP endpoint is configured or OTEL_TRACES_EXPORTER names an exporter
 * (`none` and OTEL_SDK_DISABLED=true switch it off whatever else is set).
 */
export function tracingSettings(config: AppConfig): TracingSettings {
  const exporters = config.OTEL_TRACES_EXPORTER;
  const protocol = config.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? config.OTEL_EXPORTER_OTLP_PROTOCOL;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url =
    config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  const exporter = exporters?.includes('console') && !exporters.includes('otlp') ? 'console' : 'otlp';
  const wanted = exporters === undefined ? url !== undefined : !exporters.includes('none');
  return {
    enabled: wanted && !config.OTEL_SDK_DISABLED,
    exporter,
    protocol,
    url,
    headers: {
      ...parseHeaders(config.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseHeaders(config.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    traceContent: config.GATEHOUSE_TRACE_CONTENT,
  };
}

function parseHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of value?.split(',') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0) headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/**
 * Starts the OpenTelemetry SDK when tracing is configured. Must run before Nest, pg, ioredis and undici
 * are loaded (src/main.ts loads the application only afterwards), so that their modules are patched.
 * When tracing is off nothing is loaded: the gateway pays nothing for it.
 */
export async function startTracing(config: AppConfig): Promise<TracingHandle | undefined> {
  const settings = tracingSettings(config);
  if (!settings.enabled || active) return active;
  const [
    { NodeSDK },
    base,
    core,
    resources,
    ctxHooks,
    http,
    undici,
    pg,
    ioredis,
    spans,
    attempts,
    redacting,
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('src/modules/observability/tracing/server-span'),
    import('src/modules/observability/tracing/open-attempts'),
    import('src/modules/observability/tracing/redacting-span-processor'),
  ]);

  class AttemptAwareContextManager extends ctxHooks.AsyncLocalStorageContextManager {
    override active() {
      return attempts.withOpenAttempt(super.active());
    }
  }

  const exporter: SpanExporter =
    settings.exporter === 'console' ? new base.ConsoleSpanExporter() : await otlpExporter(settings, config);
  const propagators: TextMapPropagator[] = [];
  if (config.OTEL_PROPAGATORS.includes('tracecontext'))
    propagators.push(new core.W3CTraceContextPropagator());
  if (config.OTEL_PROPAGATORS.includes('baggage')) propagators.push(new core.W3CBaggagePropagator());

  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes({
      'service.name': config.OTEL_SERVICE_NAME,
      'service.version': GATEHOUSE_VERSION,
    }),
    // OTEL_RESOURCE_ATTRIBUTES, process and host; explicit service name wins over the env detector.
    serviceName: config.OTEL_SERVICE_NAME,
    spanProcessors: [
      new redacting.RedactingSpanProcessor(),
      settings.exporter === 'console'
        ? new base.SimpleSpanProcessor(exporter)
        : new base.BatchSpanProcessor(exporter, {
            scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
            maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
          }),
    ],
    sampler: sampler(base, config),
    contextManager: new AttemptAwareContextManager(),
    textMapPropagator: new core.CompositePropagator({ propagators }),
    // Traces only: Prometheus metrics and pino logs are served by their own modules.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new http.HttpInstrumentation({
        // Probes and scrapes every few seconds would drown the traces that matter.
        ignoreIncomingRequestHook: (request) => spans.isProbe(request.url),
        // Outgoing node:http calls outside a request (background jobs) would each start a trace.
        requireParentforOutgoingSpans: true,
        redactedQueryParamsServer: ['key', 'api_key', 'api-key', 'apikey', 'access_token', 'token', 'sig'],
        applyCustomAttributesOnSpan: (span, request, response) =>
          spans.annotateServerSpan(span, request, response, settings.traceContent),
      }),
      new undici.UndiciInstrumentation({ requireParentforSpans: true }),
      new pg.PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
      new ioredis.IORedisInstrumentation({
        requireParentSpan: true,
        // Command and key only: values are cached answers (content) and must not reach a span.
        dbStatementSerializer: (command, args) =>
          typeof args[0] === 'string' ? `${command} ${args[0]}` : command,
      }),
    ],
  });
  sdk.start();
  active = {
    settings,
    shutdown: async () => {
      active = undefined;
      await sdk.shutdown();
    },
  };
  return active;
}

async function otlpExporter(settings: TracingSettings, config: AppConfig): Promise<SpanExporter> {
  const options = {
    url: settings.url,
    headers: settings.headers,
    timeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT,
  };
  if (settings.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter(options);
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter(options);
}

function sampler(base: typeof import('@opentelemetry/sdk-trace-base'), config: AppConfig): Sampler {
  const ratio = config.OTEL_TRACES_SAMPLER_ARG ?? 1;
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new base.AlwaysOnSampler();
    case 'always_off':
      return new base.AlwaysOffSampler();
    case 'traceidratio':
      return new base.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(ratio) });
    default:
      return new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() });
  }
}
