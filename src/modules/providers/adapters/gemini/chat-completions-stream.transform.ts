import {
  CanonicalChunk,
  ChatCompletionChunk,
  SseEvent,
  StreamStep,
  StreamTranslator,
  TextCompletion,
  Usage,
} from 'src/modules/providers/provider-adapter';
import { GeminiResponse, isRecord } from 'src/modules/providers/adapters/gemini/gemini.types';
import {
  readCandidate,
  responseId,
  responseModel,
  toUsage,
} from 'src/modules/providers/adapters/gemini/chat-completions.transform';
import { errorInfoOf } from 'src/modules/providers/adapters/gemini/gemini-error.transform';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

const MALFORMED: StreamStep = { chunks: [], error: { message: 'malformed upstream stream event' } };

/**
 * Translates `streamGenerateContent?alt=sse` (each event one GenerateContentResponse; no terminator)
 * into OpenAI `chat.completion.chunk`s, or `text_completion` chunks for the completions route. Gemini
 * sends each function call whole, so one call is one tool_calls delta. After the finish reason comes
 * a usage-only chunk (choices `[]`), as OpenAI sends with `include_usage`.
 */
export class GeminiStreamTranslator implements StreamTranslator {
  private id = '';
  private modelId = '';
  private created = 0;
  private started = false;
  private usage: Usage | null = null;
  /** Candidate index → tool calls streamed so far (OpenAI numbers them per choice). */
  private readonly toolCounts = new Map<number, number>();
  private readonly open = new Set<number>();
  private readonly closed = new Set<number>();

  constructor(
    private readonly mode: 'chat' | 'completions',
    private readonly model: string,
  ) {}

  get finished(): boolean {
    return this.closed.size > 0 && this.open.size === 0;
  }

  push(event: SseEvent): StreamStep {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return MALFORMED;
    }
    if (!isRecord(data)) return MALFORMED;
    if (isRecord(data.error)) return { chunks: [], error: errorInfoOf(data.error) };
    if (data.candidates !== undefined && !Array.isArray(data.candidates)) return MALFORMED;
    const response = data as GeminiResponse;
    if (!this.started) {
      this.started = true;
      this.id = responseId(response);
      this.modelId = responseModel(response, this.model);
      this.created = Math.floor(Date.now() / 1000);
    }
    const usage = toUsage(response.usageMetadata);
    if (usage !== null) this.usage = usage;

    const chunks: CanonicalChunk[] = [];
    const candidates = response.candidates ?? [];
    if (candidates.length === 0 && typeof response.promptFeedback?.blockReason === 'string') {
      this.closed.add(0);
      chunks.push(this.chunk(0, { role: 'assistant', content: '' }, 'content_filter'));
    }
    candidates.forEach((candidate, position) => {
      const before = this.toolCounts.get(candidate.index ?? position) ?? 0;
      const out = readCandidate(candidate, position, before);
      if (this.closed.has(out.index)) return;
      const first = !this.open.has(out.index);
      this.open.add(out.index);
      const delta: Delta = first ? { role: 'assistant', content: out.text } : { content: out.text };
      if (out.toolCalls.length > 0) {
        delta.tool_calls = out.toolCalls.map((call, i) => ({ index: before + i, ...call }));
        this.toolCounts.set(out.index, before + out.toolCalls.length);
      }
      if (out.finishReason !== null) {
        this.open.delete(out.index);
        this.closed.add(out.index);
      }
      if (out.text !== '' || out.toolCalls.length > 0 || first || out.finishReason !== null) {
        chunks.push(this.chunk(out.index, delta, out.finishReason));
      }
    });
    if (this.finished && this.usage !== null && chunks.length > 0) chunks.push(this.usageChunk(this.usage));
    return { chunks };
  }

  private chunk(index: number, delta: Delta, finishReason: string | null): CanonicalChunk {
    if (this.mode === 'completions') {
      const chunk: TextCompletion = {
        id: this.id,
        object: 'text_completion',
        created: this.created,
        model: this.modelId,
        choices: [
          {
            index,
            text: typeof delta.content === 'string' ? delta.content : '',
            finish_reason: finishReason,
          },
        ],
      };
      return chunk;
    }
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.modelId,
      choices: [{ index, delta, finish_reason: finishReason }],
    };
  }

  private usageChunk(usage: Usage): CanonicalChunk {
    const base = { id: this.id, created: this.created, model: this.modelId, choices: [], usage };
    return this.mode === 'completions'
      ? { ...base, object: 'text_completion' }
      : { ...base, object: 'chat.completion.chunk' };
  }
}
