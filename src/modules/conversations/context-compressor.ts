import { ChatMessage } from 'src/modules/providers/provider-adapter';

/**
 * Optional lossless-in-meaning compression (`gatehouse.conversation.compress: true`): runs of spaces and
 * tabs become one space, three or more line breaks become two, text is trimmed, and a message that
 * repeats the previous one exactly (same role, same content, no tool calls) is dropped. Code blocks lose
 * indentation runs too, so endpoints that exchange code should leave it off.
 */
export function compressMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return compressList(
    messages,
    (m) => m,
    (_m, compressed) => compressed,
  );
}

/** The same over any list of items that carry a message (stored turns keep their sequence numbers). */
export function compressList<T>(
  items: readonly T[],
  get: (item: T) => ChatMessage,
  set: (item: T, message: ChatMessage) => T,
): T[] {
  const out: T[] = [];
  for (const item of items) {
    const compressed = compressMessage(get(item));
    const previous = out[out.length - 1];
    if (previous !== undefined && isDuplicate(get(previous), compressed)) continue;
    out.push(set(item, compressed));
  }
  return out;
}

function compressMessage(message: ChatMessage): ChatMessage {
  const content = message.content;
  if (typeof content === 'string') return { ...message, content: squeeze(content) };
  if (Array.isArray(content)) {
    return {
      ...message,
      content: content.map((part) =>
        part.type === 'text' && typeof part.text === 'string' ? { ...part, text: squeeze(part.text) } : part,
      ),
    };
  }
  return message;
}

function squeeze(text: string): string {
  return text
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function isDuplicate(a: ChatMessage, b: ChatMessage): boolean {
  if (a.tool_calls || b.tool_calls || a.role === 'tool' || b.role === 'tool') return false;
  return a.role === b.role && a.name === b.name && JSON.stringify(a.content) === JSON.stringify(b.content);
}
