import { PlaceholderSink } from 'src/modules/moderation/moderation.types';

const PLACEHOLDER = /<<PII_[A-Z]+_\d+>>/g;
/** A tail that may still grow into a placeholder in the next chunk. */
const PARTIAL =
  /(?:<|<<|<<P|<<PI|<<PII|<<PII_|<<PII_[A-Z]+|<<PII_[A-Z]+_|<<PII_[A-Z]+_\d+|<<PII_[A-Z]+_\d+>)$/;

/**
 * Per-request memory of reversible redactions: the provider sees `<<PII_EMAIL_1>>`, the caller gets
 * the original back. It lives only as long as the request, so a value is restored only to the caller
 * who sent it; nothing is stored.
 */
export class PlaceholderVault implements PlaceholderSink {
  private readonly byOriginal = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counters = new Map<string, number>();

  get size(): number {
    return this.byPlaceholder.size;
  }

  placeholderFor(kind: string, original: string): string {
    const key = `${kind}\u0000${original}`;
    const existing = this.byOriginal.get(key);
    if (existing) return existing;
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    const placeholder = `<<PII_${kind}_${n}>>`;
    this.byOriginal.set(key, placeholder);
    this.byPlaceholder.set(placeholder, original);
    return placeholder;
  }

  restore(text: string): string {
    if (this.byPlaceholder.size === 0 || !text.includes('<<PII_')) return text;
    return text.replace(PLACEHOLDER, (placeholder) => this.byPlaceholder.get(placeholder) ?? placeholder);
  }

  /** A restorer for streamed text, where a placeholder may arrive split across chunks. */
  streamRestorer(): PlaceholderRestorer {
    return new PlaceholderRestorer(this);
  }
}

export class PlaceholderRestorer {
  private pending = '';

  constructor(private readonly vault: PlaceholderVault) {}

  /** Returns the text that can be released now; holds back a tail that may be the start of a placeholder. */
  push(text: string): string {
    const all = this.pending + text;
    const partial = this.vault.size > 0 ? PARTIAL.exec(all.slice(-48)) : null;
    const cut = partial ? all.length - partial[0].length : all.length;
    this.pending = all.slice(cut);
    return this.vault.restore(all.slice(0, cut));
  }

  flush(): string {
    const rest = this.vault.restore(this.pending);
    this.pending = '';
    return rest;
  }
}
