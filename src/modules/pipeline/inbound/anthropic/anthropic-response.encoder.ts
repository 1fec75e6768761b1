import type { SseEncoder, StreamFailure } from 'src/modules/pipeline/inbound/inbound-format';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  ChatRequest,
  Usage,
} from 'src/modules/providers/provider-adapter';
import { anthropicErrorType } from 'src/common/errors/error-renderer';

/*
 * Canonical (OpenAI-shaped) answers → Anthropic Messages answers: the JSON message, and the event
 * stream (message_start, content_block_start/delta/stop, message_delta, message_stop).
 */

type Json = Record<string, unknown>;

/** Canonical `finish_reason` → Anthropic `stop_reason`. */
const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export interface StopInfo {
  stop_reason: string | null;
  stop_sequence: string | null;
}

/**
 * The stop reason of a choice. OpenAI-wire answers do not say which stop sequence matched; servers
 * that do (vLLM's `stop_reason`, a matched string) give `stop_sequence` when it is one the caller sent.
 */
export function stopInfo(
  finish: string | null | undefined,
  matched: unknown,
  request: ChatRequest | undefined,
): StopInfo {
  if (finish === null || finish === undefined) return { stop_reason: null, stop_sequence: null };
  const stops =
    request?.stop === undefined ? [] : Array.isArray(request.stop) ? request.stop : [request.stop];
  if (finish === 'stop' && typeof matched === 'string' && stops.includes(matched))
    return { stop_reason: 'stop_sequence', stop_sequence: matched };
  return {
    stop_reason: Object.hasOwn(STOP_REASONS, finish) ? STOP_REASONS[finish] : 'end_turn',
    stop_sequence: null,
  };
}

/** An Anthropic-style message id (`msg_…`) for a canonical answer id. */
export function messageId(id: string | undefined, fallback: string): string {
  const base = id && id !== '' ? id : fallback;
  return base.startsWith('msg_') ? base : `msg_${base.replace(/^chatcmpl-/, '')}`;
}

/** A tool call's JSON arguments as the tool_use block's input object. */
function toolInput(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? parsed
      : { value: parsed };
  } catch {
    // A model that produced broken JSON: the caller still sees what it said.
    return { _raw_arguments: args };
  }
}

function contentBlocks(message: ChatMessage | undefined): Json[] {
  const blocks: Json[] = [];
  const content = message?.content;
  if (typeof content === 'string') {
    if (content !== '') blocks.push({ type: 'text', text: content });
  } else if (Array.isArray(content)) {
    const textOf = content
      .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
      .join('');
    if (textOf !== '') blocks.push({ type: 'text', text: textOf });
  }
  for (const call of message?.tool_calls ?? []) {
    blocks.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toolInput(call.function.arguments),
    });
  }
  return blocks;
}

function usageOf(usage: Usage | null | undefined): { input_tokens: number; output_tokens: number } {
  return { input_tokens: usage?.prompt_tokens ?? 0, output_tokens: usage?.completion_tokens ?? 0 };
}

/** A canonical chat answer as an Anthropic message. */
export function encodeAnthropicMessage(
  response: ChatCompletion,
  request: ChatRequest | undefined,
  requestId: string,
): Json {
  const choice = response.choices[0];
  return {
    id: messageId(response.id, requestId),
    type: 'message',
    role: 'assistant',
    model: response.model,
    content: contentBlocks(choice?.message),
    ...stopInfo(choice?.finish_reason ?? 'stop', choice?.stop_reason, request),
    usage: usageOf(response.usage),
  };
}

function frame(event: string, data: Json): string {
  return `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
}

/**
 * Anthropic's streaming events from canonical chunks. Text and each tool call become content blocks in
 * the order they arrive (a block is closed when the next one starts); the stop reason and the usage
 * (reported last by the upstream) go into the closing message_delta. Only the first choice is streamed:
 * the Messages API has no `n`.
 */
export class AnthropicStreamEncoder implements SseEncoder {
  private started = false;
  private block: { index: number; kind: 'text' | 'tool'; toolIndex?: number } | undefined;
  private nextIndex = 0;
  private stop: StopInfo = { stop_reason: null, stop_sequence: null };
  private usage: { input_tokens: number; output_tokens: number } = { input_tokens: 0, output_tokens: 0 };

  constructor(
    private readonly request: ChatRequest | undefined,
    private readonly requestId: string,
  ) {}

  chunk(chunk: ChatCompletionChunk): string {
    let out = '';
    if (!this.started) {
      this.started = true;
      out += frame('message_start', {
        message: {
          id: messageId(chunk.id, this.requestId),
          type: 'message',
          role: 'assistant',
          model: chunk.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: chunk.usage?.prompt_tokens ?? 0, output_tokens: 0 },
        },
      });
      out += frame('ping', {});
    }
    if (chunk.usage) this.usage = usageOf(chunk.usage);
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return out;
    const delta = choice.delta;
    if (typeof delta.content === 'string' && delta.content !== '') {
      if (this.block?.kind !== 'text') out += this.open({ type: 'text', text: '' }, 'text');
      out += frame('content_block_delta', {
        index: this.block!.index,
        delta: { type: 'text_delta', text: delta.content },
      });
    }
    for (const call of delta.tool_calls ?? []) {
      if (this.block?.kind !== 'tool' || this.block.toolIndex !== call.index) {
        out += this.open(
          {
            type: 'tool_use',
            id: call.id ?? `toolu_${this.nextIndex}`,
            name: call.function?.name ?? '',
            input: {},
          },
          'tool',
          call.index,
        );
      }
      const partial = call.function?.arguments;
      if (partial) {
        out += frame('content_block_delta', {
          index: this.block!.index,
          delta: { type: 'input_json_delta', partial_json: partial },
        });
      }
    }
    if (choice.finish_reason) this.stop = stopInfo(choice.finish_reason, choice.stop_reason, this.request);
    return out;
  }

  end(): string {
    let out = this.started
      ? ''
      : this.chunk({ id: '', object: 'chat.completion.chunk', created: 0, model: '', choices: [] });
    out += this.close();
    out += frame('message_delta', {
      delta: { stop_reason: this.stop.stop_reason ?? 'end_turn', stop_sequence: this.stop.stop_sequence },
      usage: { input_tokens: this.usage.input_tokens, output_tokens: this.usage.output_tokens },
    });
    out += frame('message_stop', {});
    return out;
  }

  error(failure: StreamFailure): string {
    return frame('error', {
      error: { type: anthropicErrorType(failure.status), message: failure.message },
    });
  }

  private open(start: Json, kind: 'text' | 'tool', toolIndex?: number): string {
    const out = this.close();
    this.block = { index: this.nextIndex++, kind, toolIndex };
    return out + frame('content_block_start', { index: this.block.index, content_block: start });
  }

  private close(): string {
    if (!this.block) return '';
    const index = this.block.index;
    this.block = undefined;
    return frame('content_block_stop', { index });
  }
}
