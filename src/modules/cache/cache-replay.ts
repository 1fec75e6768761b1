import {
  CanonicalChunk,
  CanonicalResponse,
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  Operation,
  TextCompletion,
  ToolCall,
} from 'src/modules/providers/provider-adapter';

/*
 * One entry serves both delivery modes: a JSON answer is replayed to a `stream: true` caller as the
 * chunks OpenAI would have sent (role + content per choice, a finish chunk, a usage chunk), and a
 * stream's chunks are assembled into the JSON answer (content and tool-call arguments concatenated).
 */

const COPIED_FIELDS = ['system_fingerprint', 'service_tier'] as const;

function extras(source: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of COPIED_FIELDS) if (source[field] !== undefined) out[field] = source[field];
  return out;
}

export function chunksFromResponse(op: Operation, response: CanonicalResponse): CanonicalChunk[] {
  if (op === 'completions') return completionChunks(response as TextCompletion);
  const chat = response as ChatCompletion;
  const base = {
    id: chat.id,
    object: 'chat.completion.chunk' as const,
    created: chat.created,
    model: chat.model,
    ...extras(chat),
  };
  const chunks: ChatCompletionChunk[] = chat.choices.map((choice) => {
    const message = choice.message;
    const delta: ChatCompletionChunk['choices'][number]['delta'] = { role: message.role };
    if (message.content !== undefined) delta.content = message.content;
    if (message.refusal !== undefined) delta.refusal = message.refusal;
    if (message.tool_calls) {
      delta.tool_calls = message.tool_calls.map((call, index) => ({
        index,
        id: call.id,
        type: call.type,
        function: { name: call.function.name, arguments: call.function.arguments },
      }));
    }
    return { ...base, choices: [{ index: choice.index, delta, finish_reason: null }] };
  });
  chunks.push({
    ...base,
    choices: chat.choices.map((choice) => ({
      index: choice.index,
      delta: {},
      finish_reason: choice.finish_reason,
    })),
  });
  if (chat.usage) chunks.push({ ...base, choices: [], usage: chat.usage });
  return chunks;
}

function completionChunks(completion: TextCompletion): TextCompletion[] {
  const base = {
    id: completion.id,
    object: 'text_completion' as const,
    created: completion.created,
    model: completion.model,
    ...extras(completion),
  };
  const chunks: TextCompletion[] = completion.choices.map((choice) => ({
    ...base,
    choices: [{ index: choice.index, text: choice.text, finish_reason: null }],
  }));
  chunks.push({
    ...base,
    choices: completion.choices.map((choice) => ({
      index: choice.index,
      text: '',
      finish_reason: choice.finish_reason,
    })),
  });
  if (completion.usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}

interface ChoiceParts {
  role: string;
  content: string | null;
  refusal: string | null;
  toolCalls: Map<number, ToolCall>;
  finishReason: string | null;
  text: string;
}

/** Assembles a stream's chunks into the JSON answer; undefined if they hold none (no first chunk). */
export function responseFromChunks(op: Operation, chunks: CanonicalChunk[]): CanonicalResponse | undefined {
  const first = chunks[0];
  if (!first) return undefined;
  const choices = new Map<number, ChoiceParts>();
  let usage: CanonicalResponse['usage'];
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      const parts = choices.get(choice.index) ?? {
        role: 'assistant',
        content: null,
        refusal: null,
        toolCalls: new Map<number, ToolCall>(),
        finishReason: null,
        text: '',
      };
      choices.set(choice.index, parts);
      if (choice.finish_reason) parts.finishReason = choice.finish_reason;
      if (op === 'completions') {
        parts.text += (choice as TextCompletion['choices'][number]).text ?? '';
        continue;
      }
      const delta = (choice as ChatCompletionChunk['choices'][number]).delta ?? {};
      if (typeof delta.role === 'string') parts.role = delta.role;
      if (typeof delta.content === 'string') parts.content = (parts.content ?? '') + delta.content;
      if (typeof delta.refusal === 'string') parts.refusal = (parts.refusal ?? '') + delta.refusal;
      for (const call of delta.tool_calls ?? []) {
        const known = parts.toolCalls.get(call.index) ?? {
          id: '',
          type: 'function' as const,
          function: { name: '', arguments: '' },
        };
        if (call.id) known.id = call.id;
        if (call.function?.name) known.function.name += call.function.name;
        if (call.function?.arguments) known.function.arguments += call.function.arguments;
        parts.toolCalls.set(call.index, known);
      }
    }
  }
  const ordered = [...choices.entries()].sort(([a], [b]) => a - b);
  const base = { id: first.id, created: first.created, model: first.model, ...extras(first) };
  if (op === 'completions') {
    return {
      ...base,
      object: 'text_completion',
      choices: ordered.map(([index, parts]) => ({
        index,
        text: parts.text,
        finish_reason: parts.finishReason,
      })),
      usage: usage ?? null,
    };
  }
  return {
    ...base,
    object: 'chat.completion',
    choices: ordered.map(([index, parts]) => {
      const message: ChatMessage = { role: parts.role, content: parts.content, refusal: parts.refusal };
      if (parts.toolCalls.size > 0) {
        message.tool_calls = [...parts.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
      }
      return { index, message, finish_reason: parts.finishReason };
    }),
    usage: usage ?? null,
  };
}
