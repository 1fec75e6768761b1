import { CanonicalChunk, ChatCompletionChunk } from 'src/modules/providers/provider-adapter';
import { ModerationBlockedException } from 'src/modules/moderation/moderation.exception';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import { CheckContext, CheckVerdict, ModerationCheck } from 'src/modules/moderation/moderation.types';

export interface StreamGuardOptions {
  /** Cheap local checks, run on every window. */
  incremental: readonly ModerationCheck[];
  /** Checks that need the whole text (external judges), run once per choice before its last part is released. */
  final: readonly ModerationCheck[];
  /** Characters always held back (the look-behind window). */
  window: number;
  ctx: CheckContext;
  vault: PlaceholderVault;
  /** Called with every non-allow verdict (may repeat for text rescanned in the window). */
  record(verdict: CheckVerdict): void;
}

/** A stream that runs without a whitespace for this many windows is cut anyway (minified blobs). */
const MAX_HOLD_WINDOWS = 8;
/** Beyond this much held text a pending (unfinished) match no longer stops release: memory stays bounded. */
const MAX_HELD_CHARS = 32 * 1024;
const WHITESPACE_END = /\s(?=\S*$)/;

/** Index just after the last whitespace character, 0 if there is none. */
function settledEnd(text: string): number {
  const m = WHITESPACE_END.exec(text);
  return m ? m.index + 1 : 0;
}

/**
 * Guards one choice of a streamed completion. Text is released only once it has been scanned with at
 * least `window` characters after it, and only up to a word boundary, so a match split across chunks is
 * seen whole before any of it leaves; redaction happens before release; a block throws.
 */
export class ChoiceGuard {
  private held = '';
  /** Everything released so far (redacted, placeholders not yet restored): what final checks read. */
  private released = '';
  private readonly restorer;

  constructor(private readonly options: StreamGuardOptions) {
    this.restorer = options.vault.streamRestorer();
  }

  async push(text: string, final: boolean): Promise<string> {
    const { window, incremental, ctx } = this.options;
    const held = this.held + text;
    let boundary = final ? held.length : settledEnd(held);
    const forced = !final && boundary === 0 && held.length > window * MAX_HOLD_WINDOWS;
    if (forced) boundary = held.length - window;
    if (!final && boundary < held.length && held.length <= MAX_HELD_CHARS) {
      // A match that starts in settled text but runs into the unsettled tail is not released yet.
      for (const check of incremental) {
        const verdict = await check.run(held, ctx);
        for (const d of verdict.detections) {
          if (d.start !== undefined && d.end !== undefined && d.start < boundary && d.end > boundary) {
            boundary = d.start;
          }
        }
      }
    }
    let settled = held.slice(0, boundary);
    for (const check of incremental) {
      if (settled.length === 0) break;
      const verdict = await check.run(settled, ctx);
      if (verdict.action === 'allow') continue;
      this.options.record(verdict);
      if (verdict.action === 'block') throw new ModerationBlockedException(verdict, 'output');
      if (verdict.action === 'redact' && verdict.text !== undefined) settled = verdict.text;
    }
    const next = settled + held.slice(boundary);
    let cut: number;
    if (final) cut = next.length;
    else {
      const limit = Math.min(settled.length, next.length - window);
      cut = limit <= 0 ? 0 : settledEnd(next.slice(0, limit));
      if (cut === 0 && forced && limit > 0) cut = limit;
    }
    if (final) await this.runFinal(next);
    this.held = next.slice(cut);
    const out = next.slice(0, cut);
    this.released += out;
    return this.restorer.push(out) + (final ? this.restorer.flush() : '');
  }

  private async runFinal(rest: string): Promise<void> {
    const whole = this.released + rest;
    for (const check of this.options.final) {
      const verdict = await check.run(whole, this.options.ctx);
      if (verdict.action === 'allow' && !verdict.error) continue;
      this.options.record(verdict);
      if (verdict.action === 'block') throw new ModerationBlockedException(verdict, 'output');
    }
  }

  get pending(): boolean {
    return this.held.length > 0;
  }
}

function textOf(choice: CanonicalChunk['choices'][number]): string | undefined {
  if ('delta' in choice) {
    const content = (choice as ChatCompletionChunk['choices'][number]).delta.content;
    return typeof content === 'string' ? content : undefined;
  }
  return choice.text;
}

function setText(choice: CanonicalChunk['choices'][number], text: string): void {
  if ('delta' in choice) (choice as ChatCompletionChunk['choices'][number]).delta.content = text;
  else choice.text = text;
}

/** Applies output guardrails to a canonical chunk stream, choice by choice. */
export async function* guardStream(
  chunks: AsyncGenerator<CanonicalChunk>,
  options: StreamGuardOptions,
): AsyncGenerator<CanonicalChunk> {
  const guards = new Map<number, ChoiceGuard>();
  const guardFor = (index: number) => {
    let guard = guards.get(index);
    if (!guard) guards.set(index, (guard = new ChoiceGuard(options)));
    return guard;
  };
  let last: CanonicalChunk | undefined;
  try {
    for await (const chunk of chunks) {
      last = chunk;
      for (const choice of chunk.choices) {
        const incoming = textOf(choice);
        const final = choice.finish_reason !== null && choice.finish_reason !== undefined;
        if (incoming === undefined && !final) continue;
        const out = await guardFor(choice.index).push(incoming ?? '', final);
        if (incoming !== undefined || out !== '') setText(choice, out);
      }
      yield chunk;
    }
    // A stream that ended without a finish reason on some choice still releases its (checked) tail.
    for (const [index, guard] of guards) {
      if (!guard.pending || !last) continue;
      const out = await guard.push('', true);
      yield tailChunk(last, index, out);
    }
  } finally {
    await chunks.return(undefined);
  }
}

function tailChunk(template: CanonicalChunk, index: number, text: string): CanonicalChunk {
  if (template.object === 'chat.completion.chunk') {
    return { ...template, choices: [{ index, delta: { content: text }, finish_reason: null }] };
  }
  return { ...template, choices: [{ index, text, finish_reason: null }] };
}
