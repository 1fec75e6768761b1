import { CheckVerdict, Detection, ModerationCheck } from 'src/modules/moderation/moderation.types';

export interface InjectionCheckOptions {
  name: string;
  action: 'block' | 'flag';
  /** Score in [0, 1] at or above which the text counts as an injection attempt. */
  threshold: number;
}

interface Signal {
  pattern: RegExp;
  weight: number;
  reason: string;
}

/** Chat-template and role markers that have no business inside a user's message. */
const ROLE_MARKERS: Signal[] = [
  {
    pattern: /<\|(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\|>/gi,
    weight: 0.6,
    reason: 'chat template token',
  },
  { pattern: /\[\/?INST\]|<<\/?SYS>>/g, weight: 0.5, reason: 'Llama instruction marker' },
  {
    pattern: /(?:^|\n)[ \t]*#{2,}[ \t]*(?:system|instruction|new instructions?)\b/gi,
    weight: 0.4,
    reason: 'fake system section',
  },
  { pattern: /(?:^|\n)[ \t]*(?:system|assistant)[ \t]*:[ \t]*\S/gi, weight: 0.35, reason: 'role prefix' },
  { pattern: /<\/?system(?:[_-]prompt)?>/gi, weight: 0.5, reason: 'system tag' },
];

/** Phrases that try to replace the application's instructions. */
const OVERRIDES: Signal[] = [
  {
    pattern:
      /\b(?:ignore|disregard|forget|skip|override|bypass)\b(?:\s+\w+){0,3}?\s+(?:previous|prior|above|earlier|preceding|original|system|all|your)\s+(?:\w+\s+)?(?:instructions?|prompts?|rules|directions|guidelines|messages|context|guardrails)\b/gi,
    weight: 0.7,
    reason: 'instruction override',
  },
  {
    pattern:
      /\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+)?(?:DAN|unrestricted|unfiltered|jailbroken|in\s+developer\s+mode|free\s+of)/gi,
    weight: 0.6,
    reason: 'persona override',
  },
  {
    pattern: /\b(?:jailbreak|DAN)\s+mode\b|\bdo\s+anything\s+now\b/gi,
    weight: 0.5,
    reason: 'jailbreak phrase',
  },
  // Alone, "jailbreak" is as likely about phones; it only adds to other evidence.
  { pattern: /\bjailbreak(?:ing|en)?\b/gi, weight: 0.3, reason: 'jailbreak mention' },
  {
    pattern:
      /\b(?:reveal|print|show|repeat|output|leak|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+(?:full\s+|entire\s+|hidden\s+|initial\s+)?(?:system\s+prompt|system\s+message|hidden\s+instructions|initial\s+instructions)\b/gi,
    weight: 0.6,
    reason: 'system prompt extraction',
  },
  {
    pattern:
      /\bpretend\s+(?:that\s+)?(?:you\s+have|there\s+are|you\s+are\s+under)\s+no\s+(?:rules|restrictions|guidelines|filters)\b/gi,
    weight: 0.6,
    reason: 'restriction removal',
  },
  { pattern: /\bnew\s+instructions?\s*:/gi, weight: 0.4, reason: 'injected instructions' },
  {
    pattern:
      /\b(?:you\s+(?:now\s+)?have\s+no|you\s+are\s+under\s+no|without\s+any|with\s+no)\s+(?:restrictions|rules|filters|limits|guidelines|content\s+polic(?:y|ies))\b/gi,
    weight: 0.4,
    reason: 'restriction removal',
  },
];

const TAG_CHARS = /[\u{E0000}-\u{E007F}]/gu;
const ZERO_WIDTH = /[\u200B\u200C\u2060\uFEFF\u180E]/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const BASE64 = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])/g;

/**
 * Prompt-injection heuristics: each signal adds evidence and the score combines them as a noisy-OR
 * (1 − Π(1 − w)), so one strong signal or several weak ones cross the threshold.
 */
export class InjectionCheck implements ModerationCheck {
  readonly type = 'injection';
  readonly incremental = true;
  readonly name: string;

  constructor(private readonly options: InjectionCheckOptions) {
    this.name = options.name;
  }

  run(text: string): CheckVerdict {
    const detections = scoreInjection(text);
    const score = combine(detections);
    if (score < this.options.threshold) return { check: this.name, action: 'allow', detections: [], score };
    return { check: this.name, action: this.options.action, detections, score };
  }
}

export function scoreInjection(text: string): Detection[] {
  const detections: Detection[] = [];
  for (const signal of [...ROLE_MARKERS, ...OVERRIDES]) {
    const m = new RegExp(signal.pattern.source, signal.pattern.flags).exec(text);
    if (m) detections.push(detection(m.index, m[0].length, signal.weight, signal.reason));
  }
  hidden(text, TAG_CHARS, 1, 0.8, 'hidden Unicode tag characters', detections);
  hidden(text, ZERO_WIDTH, 3, 0.5, 'zero-width characters', detections);
  hidden(text, BIDI, 1, 0.5, 'bidirectional override characters', detections);
  for (const m of text.matchAll(BASE64)) {
    const decoded = decodedText(m[0]);
    if (decoded === undefined) continue;
    const nested = OVERRIDES.some((s) => new RegExp(s.pattern.source, s.pattern.flags).test(decoded));
    detections.push(detection(m.index, m[0].length, nested ? 0.8 : 0.3, 'base64-encoded text'));
  }
  return detections;
}

function detection(start: number, length: number, score: number, reason: string): Detection {
  return { category: 'prompt_injection', start, end: start + length, score, reason };
}

function hidden(
  text: string,
  pattern: RegExp,
  min: number,
  weight: number,
  reason: string,
  out: Detection[],
): void {
  const found = [...text.matchAll(pattern)];
  if (found.length >= min) out.push(detection(found[0].index, found[0][0].length, weight, reason));
}

/** Base64 that decodes to mostly printable text (binary payloads such as images are not instructions). */
function decodedText(blob: string): string | undefined {
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.length < 24) return undefined;
  let printable = 0;
  for (const b of bytes) if ((b >= 32 && b < 127) || b === 10 || b === 13 || b === 9) printable++;
  return printable / bytes.length >= 0.9 ? bytes.toString('latin1') : undefined;
}

function combine(detections: Detection[]): number {
  const miss = detections.reduce((p, d) => p * (1 - (d.score ?? 0)), 1);
  return Math.round((1 - miss) * 1000) / 1000;
}
