import {
  CanonicalChunk,
  ChatCompletionChunk,
  SseEvent,
  StreamStep,
  StreamTranslator,
  TextCompletion,
} from 'src/modules/providers/provider-adapter';
import { isRecord } from 'src/modules/providers/adapters/cohere/cohere.types';
import { toUsage } from 'src/modules/providers/adapters/cohere/chat-completions.transform';
import { toFinishReason } from 'src/modules/providers/adapters/cohere/finish-reasons';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

const MALFORMED: StreamStep = { chunks: [], error: { message: 'malformed upstream stream event' } };

/**
 * Translates a Cohere v2 chat stream (https://docs.cohere.com/v2/docs/streaming): `message-start`,
 * `content-delta`, `tool-call-start`/`-delta`/`-end`, `message-end` with finish reason and usage.
 * Tool plans, citations and thinking deltas carry nothing an OpenAI client expects and are dropped.
 */
export class CohereChatStreamTranslator implements StreamTranslator {
  private started = false;
  private id = '';
  private created = 0;
  private isFinished = false;
  /** Cohere's tool-call event index → OpenAI tool call index (numbered from 0 in order of appearance). */
  private readonly toolIndex = new Map<number, number>();

  constructor(private readonly model: string) {}

  get finished(): boolean {
    return this.isFinished;
  }

  push(event: SseEvent): StreamStep {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return MALFORMED;
    }
    if (!isRecord(data)) return MALFORMED;
    const type = typeof data.type === 'string' ? data.type : event.event;
    if (type === 'message-start') return this.onStart(data);
    if (!this.started) return MALFORMED;
    const delta = isRecord(data.delta) ? data.delta : {};
    const message = isRecord(delta.message) ? delta.message : {};
    switch (type) {
      case 'content-delta': {
        const content = isRecord(message.content) ? message.content : {};
        // A thinking model streams `thinking` pieces in the same event type; only text is content.
        if (typeof content.text !== 'string' || content.text === '') return { chunks: [] };
        return { chunks: [this.chunk({ content: content.text })] };
      }
      case 'tool-call-start': {
        const call = isRecord(message.tool_calls) ? message.tool_calls : undefined;
        const fn = call && isRecord(call.function) ? call.function : undefined;
        if (
          typeof data.index !== 'number' ||
          !call ||
          typeof call.id !== 'string' ||
          typeof fn?.name !== 'string'
        ) {
          return MALFORMED;
        }
        const index = this.toolIndex.size;
        this.toolIndex.set(data.index, index);
        const args = typeof fn.arguments === 'string' ? fn.arguments : '';
        return {
          chunks: [
            this.chunk({
              tool_calls: [
                { index, id: call.id, type: 'function', function: { name: fn.name, arguments: args } },
              ],
            }),
          ],
        };
      }
      case 'tool-call-delta': {
        const call = isRecord(message.tool_calls) ? message.tool_calls : {};
        const fn = isRecord(call.function) ? call.function : {};
        const index = typeof data.index === 'number' ? this.toolIndex.get(data.index) : undefined;
        if (index === undefined || typeof fn.arguments !== 'string') return MALFORMED;
        if (fn.arguments === '') return { chunks: [] };
        return { chunks: [this.chunk({ tool_calls: [{ index, function: { arguments: fn.arguments } }] })] };
      }
      case 'message-end':
        return this.onEnd(delta);
      default:
        // content-start/-end, tool-plan-delta, tool-call-end, citation-*, debug.
        return { chunks: [] };
    }
  }

  private onStart(data: Record<string, unknown>): StreamStep {
    if (this.started || typeof data.id !== 'string') return MALFORMED;
    this.started = true;
    this.id = data.id;
    this.created = Math.floor(Date.now() / 1000);
    return { chunks: [this.chunk({ role: 'assistant', content: '' })] };
  }

  private onEnd(delta: Record<string, unknown>): StreamStep {
    const finishReason = toFinishReason(delta.finish_reason) ?? 'stop';
    this.isFinished = true;
    const chunks: ChatCompletionChunk[] = [this.chunk({}, finishReason)];
    const usage = toUsage(delta.usage);
    if (usage !== null) {
      chunks.push({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices: [],
        usage,
      });
    }
    // `delta.error` is set when Cohere stopped the generation itself (finish_reason ERROR).
    if (typeof delta.error === 'string' && delta.error !== '') {
      return { chunks, done: true, error: { message: delta.error } };
    }
    return { chunks, done: true };
  }

  private chunk(delta: Delta, finishReason: string | null = null): ChatCompletionChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }
}

/** Completions served through the chat API: the chat stream re-shaped as `text_completion` chunks. */
export class CohereCompletionsStreamTranslator implements StreamTranslator {
  private readonly chat: CohereChatStreamTranslator;

  constructor(private readonly model: string) {
    this.chat = new CohereChatStreamTranslator(model);
  }

  get finished(): boolean {
    return this.chat.finished;
  }

  push(event: SseEvent): StreamStep {
    const step = this.chat.push(event);
    const chunks: CanonicalChunk[] = [];
    for (const chunk of step.chunks as ChatCompletionChunk[]) {
      const choice = chunk.choices[0];
      const text = choice === undefined ? undefined : choice.delta.content;
      if (choice !== undefined && (typeof text !== 'string' || text === '') && choice.finish_reason === null)
        continue;
      const out: TextCompletion = {
        id: chunk.id,
        object: 'text_completion',
        created: chunk.created,
        model: this.model,
        choices:
          choice === undefined
            ? []
            : [{ index: 0, text: typeof text === 'string' ? text : '', finish_reason: choice.finish_reason }],
      };
      if (chunk.usage) out.usage = chunk.usage;
      chunks.push(out);
    }
    return { ...step, chunks };
  }
}
