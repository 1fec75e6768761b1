import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const httpUrl = z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL');
const csvOf = <T extends [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)).min(1));
// OTLP over HTTP (protobuf by default, or JSON); gRPC is not bundled.
const protocol = z.enum(['http/protobuf', 'http/json']);
// `key=value,key=value` (W3C baggage style), as the OTLP exporters expect.
const otlpHeaders = z
  .string()
  .regex(/^[^=,\s]+=[^,]*(,[^=,\s]+=[^,]*)*$/, 'must be key=value pairs, comma-separated');

/**
 * Tracing (OpenTelemetry, the standard OTEL_* variables) and logs. They are read before Nest starts
 * (src/main.ts → src/tracing.ts), through the same schema as every other key. Tracing is off — no SDK
 * loaded, nothing patched — unless an OTLP endpoint is given or OTEL_TRACES_EXPORTER names an exporter.
 */
export const tracingEnv = {
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_SERVICE_NAME: z.string().min(1).max(128).default('gatehouse'),
  /** `key=value,…` added to the resource (deployment.environment.name=prod, …). */
  OTEL_RESOURCE_ATTRIBUTES: z
    .string()
    .regex(/^[^=,\s]+=[^,]*(,[^=,\s]+=[^,]*)*$/, 'must be key=value pairs, comma-separated')
    .optional(),
  OTEL_TRACES_EXPORTER: csvOf(['otlp', 'console', 'none']).optional(),
  /** Base URL: traces go to `<endpoint>/v1/traces` (HTTP). */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  /** Full URL of the traces receiver; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol.default('http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol.optional(),
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders.optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders.optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: z.coerce.number().int().min(1).max(600_000).default(10_000),
  /** How often buffered spans are exported (ms), and how many may wait (more are dropped, never blocking). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).max(600_000).default(5_000),
  OTEL_BSP_MAX_QUEUE_SIZE: z.coerce.number().int().min(1).max(1_000_000).default(2_048),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on'),
  /** Sampling ratio for the `*traceidratio` samplers. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_PROPAGATORS: csvOf(['tracecontext', 'baggage', 'none']).default(['tracecontext', 'baggage']),
  /** Record prompt and completion text on spans (redacted). Off: spans never carry content. */
  GATEHOUSE_TRACE_CONTENT: bool.default(false),
  /** One JSON access line per request (info level). */
  LOG_ACCESS: bool.default(true),
};
