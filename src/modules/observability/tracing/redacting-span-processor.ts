import type { Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { redactSecrets } from 'src/modules/observability/logging/secret-redaction';

/**
 * The spans' counterpart of the log lines' last pass: just before a span ends, every string attribute
 * (a URL path carrying a JWT, an instrumentation's error message quoting a key, …), event attribute and
 * status message is scrubbed of credential shapes. Runs for every span, exported or not.
 */
export class RedactingSpanProcessor implements SpanProcessor {
  onStart(): void {}

  onEnding(span: Span): void {
    for (const [key, value] of Object.entries(span.attributes)) {
      if (typeof value !== 'string') continue;
      const safe = redactSecrets(value);
      if (safe !== value) span.setAttribute(key, safe);
    }
    for (const event of span.events) {
      const attributes = event.attributes as Record<string, unknown> | undefined;
      if (attributes === undefined) continue;
      for (const [key, value] of Object.entries(attributes)) {
        if (typeof value === 'string') attributes[key] = redactSecrets(value);
      }
    }
    const message = span.status.message;
    if (message !== undefined) {
      const safe = redactSecrets(message);
      if (safe !== message) span.setStatus({ code: span.status.code, message: safe });
    }
  }

  onEnd(): void {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
