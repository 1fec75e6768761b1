import { detectPii, PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';
import { replaceSpans } from 'src/modules/moderation/checks/redaction';
import { redactSecrets } from 'src/modules/observability/logging/secret-redaction';

const ALL = new Set(PII_ENTITIES);
/** Longest text kept on a span attribute: exporters and backends drop huge attributes anyway. */
const MAX_CHARS = 16_384;

/**
 * Prompt or completion text as it may appear on a span when GATEHOUSE_TRACE_CONTENT=true: every PII
 * kind the guardrails know (emails, phones, cards, credentials, …) masked as `[EMAIL]`…, then the
 * secret patterns of the log redaction as a last pass, then clipped.
 */
export function redactForTrace(text: string): string {
  const clipped = text.length > MAX_CHARS * 2 ? text.slice(0, MAX_CHARS * 2) : text;
  const masked = replaceSpans(
    clipped,
    detectPii(clipped, { entities: ALL, defaultRegion: 'US', entropyThreshold: 4.2 }),
    (match) => `[${match.entity.toUpperCase()}]`,
  );
  const safe = redactSecrets(masked);
  return safe.length > MAX_CHARS ? `${safe.slice(0, MAX_CHARS)}…` : safe;
}

/** The prompt of an inference body (chat messages, completion prompt, embeddings input), as JSON. */
export function promptOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = body as Record<string, unknown>;
  const prompt = value.messages ?? value.prompt ?? value.input ?? value.inputs ?? value.dataframe_split;
  return prompt === undefined ? undefined : JSON.stringify(prompt);
}
