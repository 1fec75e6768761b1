import {
  CanonicalChunk,
  SseEvent,
  StreamStep,
  StreamTranslator,
} from 'src/modules/providers/provider-adapter';

const MALFORMED: StreamStep = { chunks: [], error: { message: 'malformed upstream stream event' } };

/** OpenAI streams are already canonical: each `data:` is a chunk, `[DONE]` ends, `{"error":…}` fails. */
export class OpenAIStreamTranslator implements StreamTranslator {
  finished = false;

  push(event: SseEvent): StreamStep {
    if (event.data === '[DONE]') return { chunks: [], done: true };
    let parsed: unknown;
    try {
      parsed = JSON.parse(event.data);
    } catch {
      return MALFORMED;
    }
    if (parsed === null || typeof parsed !== 'object') return MALFORMED;
    const record = parsed as Record<string, unknown>;
    if (record.error !== undefined) {
      const error = record.error as Record<string, unknown> | null;
      const message = typeof error?.message === 'string' ? error.message : 'upstream stream error';
      return {
        chunks: [],
        error: { message, type: typeof error?.type === 'string' ? error.type : undefined },
      };
    }
    if (!Array.isArray(record.choices)) return MALFORMED;
    for (const choice of record.choices as { finish_reason?: unknown }[]) {
      if (choice && choice.finish_reason != null) this.finished = true;
    }
    return { chunks: [record as unknown as CanonicalChunk] };
  }
}
