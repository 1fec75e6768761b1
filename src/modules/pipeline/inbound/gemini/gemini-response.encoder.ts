import { googleErrorStatus } from 'src/common/errors/error-renderer';
import type { SseEncoder, StreamFailure } from 'src/modules/pipeline/inbound/inbound-format';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  Usage,
} from 'src/modules/providers/provider-adapter';

/*
 * Canonical (OpenAI-shaped) answers → Gemini GenerateContentResponse: the JSON answer, and the stream
 * of GenerateContentResponse objects, either as Server-Sent Events (`?alt=sse`, what Google's SDKs ask
 * for) or as one JSON array written piece by piece (Google's default without `alt`).
 */

type Json = Record<string, unknown>;

/** Canonical `finish_reason` → Gemini `finishReason` (a function call ends with STOP on Gemini too). */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  stop: 'STOP',
  length: 'MAX_TOKENS',
  tool_calls: 'STOP',
  function_call: 'STOP',
  content_filter: 'SAFETY',
};

export function finishReason(finish: string | null | undefined): string | undefined {
  if (finish === null || finish === undefined) return undefined;
  return Object.hasOwn(FINISH_REASONS, finish) ? FINISH_REASONS[finish] : 'OTHER';
}

/** A call's arguments as the object Gemini's functionCall.args is. */
function args(text: string | undefined): Json {
  if (text === undefined || text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Json)
      : { value: parsed };
  } catch {
    // Broken JSON from a model: the caller still sees what it said.
    return { _raw_arguments: text };
  }
}

function parts(message: ChatMessage | undefined): Json[] {
  const out: Json[] = [];
  const content = message?.content;
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('')
        : '';
  if (text !== '') out.push({ text });
  for (const call of message?.tool_calls ?? [])
    out.push({
      functionCall: { id: call.id, name: call.function.name, args: args(call.function.arguments) },
    });
  return out;
}

export function usageMetadata(usage: Usage | null | undefined): Json {
  const prompt = usage?.prompt_tokens ?? 0;
  const candidates = usage?.completion_tokens ?? 0;
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: usage?.total_tokens ?? prompt + candidates,
  };
}

/** A canonical chat answer as a GenerateContentResponse. */
export function encodeGeminiResponse(response: ChatCompletion, requestId: string): Json {
  const choice = response.choices[0];
  const content = parts(choice?.message);
  return {
    candidates: [
      {
        content: { role: 'model', parts: content.length > 0 ? content : [{ text: '' }] },
        finishReason: finishReason(choice?.finish_reason ?? 'stop'),
        index: 0,
      },
    ],
    usageMetadata: usageMetadata(response.usage),
    modelVersion: response.model,
    responseId: response.id || requestId,
  };
}

/**
 * The streamed answer: each text delta becomes a GenerateContentResponse at once; tool calls (which
 * Gemini sends whole, never as argument fragments) are gathered and sent with the finish reason and
 * the usage in the last one. Only the first choice is streamed (candidateCount is 1).
 */
export class GeminiStreamEncoder implements SseEncoder {
  readonly contentType: string | undefined;
  private readonly sse: boolean;
  private written = false;
  private model = '';
  private id: string;
  private finish: string | undefined;
  private usage: Usage | null | undefined;
  private readonly calls = new Map<number, { id?: string; name: string; arguments: string }>();

  constructor(alt: string | undefined, requestId: string) {
    this.sse = alt === 'sse';
    this.contentType = this.sse ? undefined : 'application/json; charset=utf-8';
    this.id = requestId;
  }

  chunk(chunk: ChatCompletionChunk): string {
    if (chunk.model) this.model = chunk.model;
    if (chunk.id) this.id = chunk.id;
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return '';
    if (choice.finish_reason) this.finish = choice.finish_reason;
    for (const call of choice.delta.tool_calls ?? []) {
      const held = this.calls.get(call.index) ?? { name: '', arguments: '' };
      if (call.id) held.id = call.id;
      if (call.function?.name) held.name += call.function.name;
      if (call.function?.arguments) held.arguments += call.function.arguments;
      this.calls.set(call.index, held);
    }
    const text = choice.delta.content;
    if (typeof text !== 'string' || text === '') return '';
    return this.item({
      candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }],
      modelVersion: this.model,
      responseId: this.id,
    });
  }

  end(): string {
    const calls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ functionCall: { id: call.id, name: call.name, args: args(call.arguments) } }));
    const last = this.item({
      candidates: [
        {
          content: { role: 'model', parts: calls.length > 0 ? calls : [{ text: '' }] },
          finishReason: finishReason(this.finish ?? 'stop'),
          index: 0,
        },
      ],
      usageMetadata: usageMetadata(this.usage),
      modelVersion: this.model,
      responseId: this.id,
    });
    return this.sse ? last : `${last}]`;
  }

  error(failure: StreamFailure): string {
    const error = {
      error: { code: failure.status, message: failure.message, status: googleErrorStatus(failure.status) },
    };
    return this.sse ? this.item(error) : `${this.item(error)}]`;
  }

  private item(body: Json): string {
    const json = JSON.stringify(body);
    if (this.sse) return `data: ${json}\r\n\r\n`;
    const out = `${this.written ? ',\r\n' : '['}${json}`;
    this.written = true;
    return out;
  }
}
