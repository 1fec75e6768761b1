import {
  ChatCompletionChunk,
  SseEvent,
  StreamStep,
  StreamTranslator,
} from 'src/modules/providers/provider-adapter';
import { AnthropicUsage, isRecord } from 'src/modules/providers/adapters/anthropic/anthropic-messages.types';
import { parseUsage, toUsage } from 'src/modules/providers/adapters/anthropic/chat-completions.transform';
import { toFinishReason } from 'src/modules/providers/adapters/anthropic/finish-reasons';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

const MALFORMED: StreamStep = { chunks: [], error: { message: 'malformed upstream stream event' } };

/**
 * Translates one Anthropic Messages event stream
 * (https://docs.anthropic.com/en/api/messages-streaming) into OpenAI `chat.completion.chunk`s.
 * Thinking blocks are dropped; tool_use blocks become `tool_calls` deltas numbered from 0 in order
 * of appearance (Anthropic's block index also counts text blocks, OpenAI's index does not).
 */
export class AnthropicChatStreamTranslator implements StreamTranslator {
  private started = false;
  private id = '';
  private model = '';
  private created = 0;
  private usage: AnthropicUsage = { input_tokens: 0, output_tokens: 0 };
  /** Anthropic content block index → OpenAI tool call index. */
  private readonly toolIndexByBlock = new Map<number, number>();
  private isFinished = false;

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

    switch (type) {
      case 'ping':
        return { chunks: [] };
      case 'error':
        return this.onError(data);
      case 'message_start':
        return this.onMessageStart(data);
      case 'message_stop':
        return this.started ? { chunks: [], done: true } : MALFORMED;
      case 'content_block_start':
      case 'content_block_delta':
      case 'content_block_stop':
      case 'message_delta':
        if (!this.started) return MALFORMED;
        return this.onContentEvent(type, data);
      default:
        // Anthropic documents that new event types may appear; they carry nothing we translate.
        return { chunks: [] };
    }
  }

  private onError(data: Record<string, unknown>): StreamStep {
    const error = isRecord(data.error) ? data.error : {};
    const message = typeof error.message === 'string' ? error.message : 'Anthropic reported a stream error';
    return typeof error.type === 'string'
      ? { chunks: [], error: { message, type: error.type } }
      : { chunks: [], error: { message } };
  }

  private onMessageStart(data: Record<string, unknown>): StreamStep {
    const message = data.message;
    if (
      this.started ||
      !isRecord(message) ||
      typeof message.id !== 'string' ||
      typeof message.model !== 'string'
    ) {
      return MALFORMED;
    }
    this.started = true;
    this.id = message.id;
    this.model = message.model;
    this.created = Math.floor(Date.now() / 1000);
    this.usage = parseUsage(message.usage) ?? this.usage;
    return { chunks: [this.chunk({ role: 'assistant', content: '' })] };
  }

  private onContentEvent(type: string, data: Record<string, unknown>): StreamStep {
    switch (type) {
      case 'content_block_start': {
        const block = data.content_block;
        if (typeof data.index !== 'number' || !isRecord(block)) return MALFORMED;
        if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          return { chunks: [this.chunk({ content: block.text })] };
        }
        if (block.type !== 'tool_use') return { chunks: [] };
        if (typeof block.id !== 'string' || typeof block.name !== 'string') return MALFORMED;
        const index = this.toolIndexByBlock.size;
        this.toolIndexByBlock.set(data.index, index);
        return {
          chunks: [
            this.chunk({
              tool_calls: [
                { index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } },
              ],
            }),
          ],
        };
      }
      case 'content_block_delta': {
        const delta = data.delta;
        if (typeof data.index !== 'number' || !isRecord(delta)) return MALFORMED;
        if (delta.type === 'text_delta') {
          if (typeof delta.text !== 'string') return MALFORMED;
          return { chunks: delta.text === '' ? [] : [this.chunk({ content: delta.text })] };
        }
        if (delta.type === 'input_json_delta') {
          const index = this.toolIndexByBlock.get(data.index);
          if (index === undefined || typeof delta.partial_json !== 'string') return MALFORMED;
          if (delta.partial_json === '') return { chunks: [] };
          return {
            chunks: [this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })],
          };
        }
        // thinking_delta, signature_delta, citations_delta: nothing an OpenAI client expects.
        return { chunks: [] };
      }
      case 'content_block_stop':
        return { chunks: [] };
      default:
        return this.onMessageDelta(data);
    }
  }

  private onMessageDelta(data: Record<string, unknown>): StreamStep {
    const delta = isRecord(data.delta) ? data.delta : {};
    const usage = isRecord(data.usage) ? data.usage : {};
    // message_delta usage is cumulative; newer API versions repeat the input counts there too.
    for (const key of [
      'input_tokens',
      'output_tokens',
      'cache_creation_input_tokens',
      'cache_read_input_tokens',
    ]) {
      const value = usage[key];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) this.usage[key] = value;
    }
    const finishReason = typeof delta.stop_reason === 'string' ? toFinishReason(delta.stop_reason) : null;
    if (finishReason === null || this.isFinished) return { chunks: [] };
    this.isFinished = true;
    const finish = this.chunk({}, finishReason);
    const usageChunk: ChatCompletionChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage: toUsage(this.usage),
    };
    return { chunks: [finish, usageChunk] };
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
