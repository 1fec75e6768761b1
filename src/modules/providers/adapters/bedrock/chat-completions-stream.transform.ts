import {
  ChatCompletionChunk,
  SseEvent,
  StreamStep,
  StreamTranslator,
} from 'src/modules/providers/provider-adapter';
import { toUsage } from 'src/modules/providers/adapters/bedrock/chat-completions.transform';
import { isRecord } from 'src/modules/providers/adapters/bedrock/converse.types';
import { EXCEPTION_EVENT } from 'src/modules/providers/adapters/bedrock/event-stream.decoder';
import { toFinishReason } from 'src/modules/providers/adapters/bedrock/finish-reasons';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

const MALFORMED: StreamStep = { chunks: [], error: { message: 'malformed upstream stream event' } };

/**
 * Translates one ConverseStream event stream (messageStart, contentBlockStart/Delta/Stop, messageStop,
 * metadata; https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html)
 * into OpenAI `chat.completion.chunk`s. Each event's data is the event member's JSON. toolUse blocks
 * become `tool_calls` deltas numbered from 0 (Bedrock's block index also counts text blocks). The
 * stream is done after `metadata`, which carries the usage.
 */
export class BedrockChatStreamTranslator implements StreamTranslator {
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly toolIndexByBlock = new Map<number, number>();
  private started = false;
  private isFinished = false;

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
    switch (event.event) {
      case EXCEPTION_EVENT:
        return {
          chunks: [],
          error: {
            message:
              typeof data.message === 'string' ? data.message : 'Amazon Bedrock reported a stream error',
            ...(typeof data.type === 'string' ? { type: data.type } : {}),
          },
        };
      case 'messageStart':
        if (this.started) return MALFORMED;
        this.started = true;
        return { chunks: [this.chunk({ role: 'assistant', content: '' })] };
      case 'contentBlockStart':
        return this.started ? this.onBlockStart(data) : MALFORMED;
      case 'contentBlockDelta':
        return this.started ? this.onBlockDelta(data) : MALFORMED;
      case 'contentBlockStop':
        return { chunks: [] };
      case 'messageStop':
        if (!this.started || this.isFinished) return MALFORMED;
        this.isFinished = true;
        return { chunks: [this.chunk({}, toFinishReason(data.stopReason))] };
      case 'metadata':
        return { chunks: [this.usageChunk(data.usage)], done: true };
      default:
        // New event types may appear; they carry nothing we translate.
        return { chunks: [] };
    }
  }

  private onBlockStart(data: Record<string, unknown>): StreamStep {
    const start = data.start;
    if (typeof data.contentBlockIndex !== 'number' || !isRecord(start)) return MALFORMED;
    if (!isRecord(start.toolUse)) return { chunks: [] };
    const use = start.toolUse;
    if (typeof use.toolUseId !== 'string' || typeof use.name !== 'string') return MALFORMED;
    const index = this.toolIndexByBlock.size;
    this.toolIndexByBlock.set(data.contentBlockIndex, index);
    return {
      chunks: [
        this.chunk({
          tool_calls: [
            { index, id: use.toolUseId, type: 'function', function: { name: use.name, arguments: '' } },
          ],
        }),
      ],
    };
  }

  private onBlockDelta(data: Record<string, unknown>): StreamStep {
    const delta = data.delta;
    if (typeof data.contentBlockIndex !== 'number' || !isRecord(delta)) return MALFORMED;
    if (typeof delta.text === 'string') {
      return { chunks: delta.text === '' ? [] : [this.chunk({ content: delta.text })] };
    }
    if (isRecord(delta.toolUse)) {
      const index = this.toolIndexByBlock.get(data.contentBlockIndex);
      const input = delta.toolUse.input;
      if (index === undefined || typeof input !== 'string') return MALFORMED;
      if (input === '') return { chunks: [] };
      return { chunks: [this.chunk({ tool_calls: [{ index, function: { arguments: input } }] })] };
    }
    // reasoningContent, citation deltas: nothing an OpenAI client expects.
    return { chunks: [] };
  }

  private usageChunk(usage: unknown): ChatCompletionChunk {
    return {
      id: null as unknown as string,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage: toUsage(usage),
    };
  }

  private chunk(delta: Delta, finishReason: string | null = null): ChatCompletionChunk {
    return {
      id: null as unknown as string,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }
}
