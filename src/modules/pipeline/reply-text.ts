import { ChatMessage } from 'src/modules/providers/provider-adapter';

/** The text of a chat reply (string content or its text parts). */
export function replyText(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}
