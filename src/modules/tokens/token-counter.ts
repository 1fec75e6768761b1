import { Injectable } from '@nestjs/common';
import type { TiktokenBPE } from 'js-tiktoken';
import type { Tiktoken } from 'js-tiktoken/lite';
import { ChatMessage } from 'src/modules/providers/provider-adapter';

type Encoding = 'o200k_base' | 'cl100k_base';

/** OpenAI's chat accounting (openai-cookbook "How to count tokens"): per message, and reply priming. */
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_REPLY = 3;
/** Non-OpenAI models: no public tokenizer ships for most, so ~3 characters per token, rounded up (conservative). */
const CHARS_PER_TOKEN = 3;

export interface TokenizerChoice {
  encoding: Encoding | null;
}

/**
 * Counts prompt tokens. OpenAI models use their real BPE (js-tiktoken; its ranks ship inside the package,
 * nothing is downloaded) and are loaded on first use only (~1 s and ~100 MB for o200k). Other models
 * get a documented approximation: ceil(characters / 3) per text plus the same per-message overhead.
 */
@Injectable()
export class TokenCounter {
  private readonly encoders = new Map<Encoding, Promise<Tiktoken>>();

  /** Which tokenizer applies to a model on a provider; `null` means the character approximation. */
  static choose(provider: string, model: string | undefined): TokenizerChoice {
    const name = (model ?? '').toLowerCase();
    const openai = provider === 'openai' || provider === 'azure' || /^(gpt-|o\d|chatgpt-)/.test(name);
    if (!openai) return { encoding: null };
    const legacy = /^gpt-(3\.5|4)(?!\.|o)/.test(name) || name.startsWith('text-embedding');
    return { encoding: legacy ? 'cl100k_base' : 'o200k_base' };
  }

  /** Returns a synchronous counter for one request, so a fitting loop does not await per message. */
  async counterFor(choice: TokenizerChoice): Promise<MessageCounter> {
    if (choice.encoding === null) {
      return new MessageCounter(
        (text) => Math.ceil(text.length / CHARS_PER_TOKEN),
        (text, max) => text.slice(0, max * CHARS_PER_TOKEN),
      );
    }
    const encoder = await this.encoder(choice.encoding);
    // Special-token text (`<|endoftext|>`) in user content is counted as ordinary text, never as a special.
    return new MessageCounter(
      (text) => encoder.encode(text, [], []).length,
      (text, max) => encoder.decode(encoder.encode(text, [], []).slice(0, max)),
    );
  }

  private encoder(encoding: Encoding): Promise<Tiktoken> {
    let pending = this.encoders.get(encoding);
    if (!pending) {
      pending = loadEncoder(encoding);
      this.encoders.set(encoding, pending);
    }
    return pending;
  }
}

async function loadEncoder(encoding: Encoding): Promise<Tiktoken> {
  const { Tiktoken: TiktokenClass } = await import('js-tiktoken/lite');
  const ranks =
    encoding === 'o200k_base'
      ? await import('js-tiktoken/ranks/o200k_base')
      : await import('js-tiktoken/ranks/cl100k_base');
  const bpe = ((ranks as { default?: TiktokenBPE }).default ?? ranks) as TiktokenBPE;
  return new TiktokenClass(bpe);
}

export class MessageCounter {
  constructor(
    readonly text: (text: string) => number,
    /** The longest prefix of `text` that is at most `max` tokens. */
    readonly truncate: (text: string, max: number) => string,
  ) {}

  message(message: ChatMessage): number {
    let total = TOKENS_PER_MESSAGE + this.text(message.role);
    const content = message.content;
    if (typeof content === 'string') total += this.text(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        // Images and other parts are priced by providers in their own ways; count their JSON as text.
        total +=
          part.type === 'text' && typeof part.text === 'string'
            ? this.text(part.text)
            : this.text(JSON.stringify(part));
      }
    }
    if (message.name) total += 1 + this.text(message.name);
    if (message.tool_calls) total += this.text(JSON.stringify(message.tool_calls));
    return total;
  }

  messages(messages: readonly ChatMessage[]): number {
    return messages.reduce((sum, m) => sum + this.message(m), TOKENS_PER_REPLY);
  }
}
