import { BATCH_ENDPOINTS, InputLine } from 'src/modules/batch/batch.records';

/** Why a line of a batch input file was refused (the file's first bad line is named in the 400). */
export class InputLineError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`Line ${line}: ${problem}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * One line of a batch input file, as OpenAI documents it:
 * `{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body": {...}}`.
 */
export function parseInputLine(text: string, line: number): InputLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputLineError(line, 'not valid JSON.');
  }
  if (!isObject(value)) throw new InputLineError(line, 'each line must be a JSON object.');
  const { custom_id: customId, method, url, body } = value;
  if (typeof customId !== 'string' || customId.length === 0 || customId.length > 512)
    throw new InputLineError(line, "'custom_id' must be a non-empty string (at most 512 characters).");
  if (method !== 'POST') throw new InputLineError(line, "'method' must be 'POST'.");
  if (typeof url !== 'string' || !(BATCH_ENDPOINTS as readonly string[]).includes(url))
    throw new InputLineError(line, `'url' must be one of ${BATCH_ENDPOINTS.join(', ')}.`);
  if (!isObject(body)) throw new InputLineError(line, "'body' must be a JSON object.");
  if (typeof body.model !== 'string' || body.model.length === 0)
    throw new InputLineError(line, "'body.model' must name the model (a gateway endpoint).");
  return { customId, method, url, body };
}

/**
 * Splits UTF-8 bytes arriving in pieces into lines (any piece boundary, multi-byte characters included)
 * and numbers them from 1. Blank lines are skipped but counted, so line numbers match an editor's.
 */
export class JsonlSplitter {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private rest = '';
  private number = 0;

  /** The complete lines in `bytes` (with whatever was left over before). */
  push(bytes: Uint8Array): { line: number; text: string }[] {
    let text: string;
    try {
      text = this.rest + this.decoder.decode(bytes, { stream: true });
    } catch {
      throw new InputLineError(this.number + 1, 'not valid UTF-8.');
    }
    const parts = text.split('\n');
    this.rest = parts.pop()!;
    return this.numbered(parts);
  }

  /** The last line, if the file does not end with a newline. */
  end(): { line: number; text: string }[] {
    let text: string;
    try {
      text = this.rest + this.decoder.decode();
    } catch {
      throw new InputLineError(this.number + 1, 'not valid UTF-8.');
    }
    this.rest = '';
    return text.length > 0 ? this.numbered([text]) : [];
  }

  private numbered(parts: string[]): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    for (const part of parts) {
      this.number++;
      const text = part.endsWith('\r') ? part.slice(0, -1) : part;
      if (text.trim().length > 0) out.push({ line: this.number, text });
    }
    return out;
  }
}
