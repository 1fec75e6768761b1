import { randomUUID } from 'node:crypto';
import type { SseEncoder, StreamFailure } from 'src/modules/pipeline/inbound/inbound-format';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  ChatRequest,
  Usage,
} from 'src/modules/providers/provider-adapter';

/*
 * Canonical (Chat Completions) answers → OpenAI Responses answers: the `response` object, and its
 * event stream (response.created … response.completed), each event numbered by `sequence_number`.
 */

type Json = Record<string, unknown>;

function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}

/** A canonical answer id as a Responses id (`resp_…`). */
export function responseId(id: string | undefined, fallback: string): string {
  const base = id && id !== '' ? id : fallback;
  return base.startsWith('resp_') ? base : `resp_${base.replace(/^chatcmpl-/, '').replace(/[^\w-]/g, '')}`;
}

function textOf(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

function usageOf(usage: Usage | null | undefined): Json {
  const input = usage?.prompt_tokens ?? 0;
  const output = usage?.completion_tokens ?? 0;
  const details = usage as
    | {
        prompt_tokens_details?: { cached_tokens?: number };
        completion_tokens_details?: { reasoning_tokens?: number };
      }
    | null
    | undefined;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: details?.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: details?.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage?.total_tokens ?? input + output,
  };
}

function messageItem(id: string, text: string, status: string): Json {
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: text === '' && status !== 'completed' ? [] : [{ type: 'output_text', text, annotations: [] }],
  };
}

function functionCallItem(id: string, callId: string, name: string, args: string, status: string): Json {
  return { type: 'function_call', id, call_id: callId, name, arguments: args, status };
}

/**
 * What a response echoes of the Responses request beyond the canonical request, and the id the gateway
 * gave it (fresh per answer, so a cached answer replayed twice is two responses).
 */
export interface ResponseTurn {
  id: string;
  instructions: string | null;
  previousResponseId: string | null;
  store: boolean;
  metadata: Json;
}

/** The response object's fields that echo the request. */
function echo(request: ChatRequest | undefined, turn: ResponseTurn | undefined): Json {
  const system = request?.messages[0]?.role === 'system' ? textOf(request.messages[0]) : null;
  return {
    instructions: turn ? turn.instructions : system,
    max_output_tokens: request?.max_tokens ?? null,
    parallel_tool_calls: request?.parallel_tool_calls ?? true,
    previous_response_id: turn?.previousResponseId ?? null,
    store: turn?.store ?? false,
    temperature: request?.temperature ?? 1,
    text: { format: textFormat(request?.response_format) },
    tool_choice: request?.tool_choice ?? 'auto',
    tools: (request?.tools ?? []).map((t) => ({
      type: 'function',
      name: t.function.name,
      description: t.function.description ?? null,
      parameters: t.function.parameters ?? null,
      strict: (t.function as { strict?: boolean }).strict ?? null,
    })),
    top_p: request?.top_p ?? 1,
    truncation: 'disabled',
    user: request?.user ?? null,
    metadata: turn?.metadata ?? {},
  };
}

function textFormat(format: unknown): Json {
  if (format && typeof format === 'object') {
    const f = format as { type?: string; json_schema?: Json };
    if (f.type === 'json_schema' && f.json_schema) return { type: 'json_schema', ...f.json_schema };
    if (f.type === 'json_object') return { type: 'json_object' };
  }
  return { type: 'text' };
}

function incomplete(finish: string | null | undefined): Json | null {
  if (finish === 'length') return { reason: 'max_output_tokens' };
  if (finish === 'content_filter') return { reason: 'content_filter' };
  return null;
}

/** A canonical chat answer as a Responses `response` object. */
export function encodeResponse(
  response: ChatCompletion,
  request: ChatRequest | undefined,
  requestId: string,
  turn?: ResponseTurn,
): Json {
  const choice = response.choices[0];
  const output: Json[] = [];
  const text = textOf(choice?.message);
  if (text !== '') output.push(messageItem(newId('msg'), text, 'completed'));
  for (const call of choice?.message?.tool_calls ?? [])
    output.push(
      functionCallItem(newId('fc'), call.id, call.function.name, call.function.arguments, 'completed'),
    );
  const details = incomplete(choice?.finish_reason);
  return {
    id: turn?.id ?? responseId(response.id, requestId),
    object: 'response',
    created_at: response.created || Math.floor(Date.now() / 1000),
    status: details ? 'incomplete' : 'completed',
    error: null,
    incomplete_details: details,
    model: response.model,
    output,
    output_text: text,
    usage: usageOf(response.usage),
    ...echo(request, turn),
  };
}

interface OpenItem {
  outputIndex: number;
  id: string;
  kind: 'message' | 'function_call';
  text: string;
  callId?: string;
  name?: string;
  toolIndex?: number;
}

/**
 * The Responses event stream from canonical chunks. Text and each tool call become output items in the
 * order they arrive (an item is closed when the next one starts); usage (reported last by the
 * upstream) goes into response.completed.
 */
export class ResponsesStreamEncoder implements SseEncoder {
  private sequence = 0;
  private started = false;
  private id = '';
  private model = '';
  private created = 0;
  private item: OpenItem | undefined;
  private readonly done: Json[] = [];
  private usage: Usage | null | undefined;
  private finish: string | null | undefined;

  constructor(
    private readonly request: ChatRequest | undefined,
    private readonly requestId: string,
    private readonly turn?: ResponseTurn,
    /** Called with the final response object of a stream that completed (not of one that failed). */
    private readonly completed?: (response: Json) => void,
  ) {}

  chunk(chunk: ChatCompletionChunk): string {
    let out = '';
    if (!this.started) {
      this.started = true;
      this.id = this.turn?.id ?? responseId(chunk.id, this.requestId);
      this.model = chunk.model;
      this.created = chunk.created || Math.floor(Date.now() / 1000);
      out += this.frame('response.created', { response: this.snapshot('in_progress') });
      out += this.frame('response.in_progress', { response: this.snapshot('in_progress') });
    }
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return out;
    const delta = choice.delta;
    if (typeof delta.content === 'string' && delta.content !== '') {
      if (this.item?.kind !== 'message') {
        out += this.close();
        this.item = { outputIndex: this.done.length, id: newId('msg'), kind: 'message', text: '' };
        out += this.frame('response.output_item.added', {
          output_index: this.item.outputIndex,
          item: messageItem(this.item.id, '', 'in_progress'),
        });
        out += this.frame('response.content_part.added', {
          item_id: this.item.id,
          output_index: this.item.outputIndex,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        });
      }
      this.item.text += delta.content;
      out += this.frame('response.output_text.delta', {
        item_id: this.item.id,
        output_index: this.item.outputIndex,
        content_index: 0,
        delta: delta.content,
        logprobs: [],
      });
    }
    for (const call of delta.tool_calls ?? []) {
      if (this.item?.kind !== 'function_call' || this.item.toolIndex !== call.index) {
        out += this.close();
        this.item = {
          outputIndex: this.done.length,
          id: newId('fc'),
          kind: 'function_call',
          text: '',
          callId: call.id ?? newId('call'),
          name: call.function?.name ?? '',
          toolIndex: call.index,
        };
        out += this.frame('response.output_item.added', {
          output_index: this.item.outputIndex,
          item: functionCallItem(this.item.id, this.item.callId!, this.item.name!, '', 'in_progress'),
        });
      }
      const partial = call.function?.arguments;
      if (partial) {
        this.item.text += partial;
        out += this.frame('response.function_call_arguments.delta', {
          item_id: this.item.id,
          output_index: this.item.outputIndex,
          delta: partial,
        });
      }
    }
    if (choice.finish_reason) this.finish = choice.finish_reason;
    return out;
  }

  end(): string {
    let out = this.started
      ? ''
      : this.chunk({ id: '', object: 'chat.completion.chunk', created: 0, model: '', choices: [] });
    out += this.close();
    const details = incomplete(this.finish);
    const response = this.snapshot(details ? 'incomplete' : 'completed', details);
    out += this.frame(details ? 'response.incomplete' : 'response.completed', { response });
    this.completed?.(response);
    return out;
  }

  error(failure: StreamFailure): string {
    const error = { code: failure.code, message: failure.message };
    let out = this.frame('error', { code: failure.code, message: failure.message, param: null });
    if (this.started) {
      out += this.frame('response.failed', { response: { ...this.snapshot('failed'), error } });
    }
    return out;
  }

  private snapshot(status: string, details: Json | null = null): Json {
    return {
      id: this.id,
      object: 'response',
      created_at: this.created,
      status,
      error: null,
      incomplete_details: details,
      model: this.model,
      output: status === 'in_progress' ? [] : this.done,
      usage: status === 'in_progress' ? null : usageOf(this.usage),
      ...echo(this.request, this.turn),
    };
  }

  private close(): string {
    const item = this.item;
    if (!item) return '';
    this.item = undefined;
    let out = '';
    let final: Json;
    if (item.kind === 'message') {
      const at = { item_id: item.id, output_index: item.outputIndex, content_index: 0 };
      out += this.frame('response.output_text.done', { ...at, text: item.text, logprobs: [] });
      out += this.frame('response.content_part.done', {
        ...at,
        part: { type: 'output_text', text: item.text, annotations: [] },
      });
      final = messageItem(item.id, item.text, 'completed');
    } else {
      out += this.frame('response.function_call_arguments.done', {
        item_id: item.id,
        output_index: item.outputIndex,
        arguments: item.text,
      });
      final = functionCallItem(item.id, item.callId!, item.name!, item.text, 'completed');
    }
    this.done.push(final);
    out += this.frame('response.output_item.done', { output_index: item.outputIndex, item: final });
    return out;
  }

  private frame(event: string, data: Json): string {
    return `event: ${event}\ndata: ${JSON.stringify({ type: event, sequence_number: this.sequence++, ...data })}\n\n`;
  }
}
