import { CanonicalChunk } from 'src/modules/providers/provider-adapter';
import { MessageCounter } from 'src/modules/tokens/token-counter';

/**
 * The text of a streamed answer, kept so its completion tokens can be counted when the stream reports
 * no usage (providers that ignore `stream_options`, or a client that went away before the usage chunk).
 */
export class StreamTally {
  private readonly parts: string[] = [];
  /** Set once the model's tokenizer is loaded; until then the character approximation counts. */
  counter: MessageCounter | undefined;

  add(chunk: CanonicalChunk): void {
    for (const choice of chunk.choices ?? []) {
      const c = choice as { delta?: { content?: unknown; tool_calls?: unknown }; text?: unknown };
      if (typeof c.text === 'string') this.parts.push(c.text);
      const delta = c.delta;
      if (!delta) continue;
      if (typeof delta.content === 'string') this.parts.push(delta.content);
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
          if (typeof call.function?.name === 'string') this.parts.push(call.function.name);
          if (typeof call.function?.arguments === 'string') this.parts.push(call.function.arguments);
        }
      }
    }
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  count(): number {
    const text = this.parts.join('');
    if (text === '') return 0;
    return this.counter ? this.counter.text(text) : Math.ceil(text.length / 3);
  }
}
