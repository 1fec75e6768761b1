import {
  CheckContext,
  CheckVerdict,
  Detection,
  ModerationCheck,
} from 'src/modules/moderation/moderation.types';

export interface ExternalCheckOptions {
  name: string;
  action: 'block' | 'flag';
  /** `llm-judge`: a chat model prompted Llama Guard–style; `openai-moderation`: an OpenAI-compatible `/v1/moderations`. */
  kind: 'llm-judge' | 'openai-moderation';
  /** The gateway endpoint (or traffic route) serving the judge model. */
  endpoint: string;
  timeoutMs: number;
  /** What to do when the judge cannot answer in time or answers nonsense: fail open or fail closed. */
  onError: 'allow' | 'block';
  /** Only these categories (`S1`, `S10` for a judge; `violence`, `self-harm/intent` for a moderation API) count; empty = all. */
  categories: readonly string[];
  /** Prompt template; `{{role}}` and `{{text}}` are substituted. */
  prompt: string;
}

/** Llama Guard 3's hazard taxonomy (MLCommons), as the model names them in its answer. */
export const LLAMA_GUARD_CATEGORIES: Record<string, string> = {
  S1: 'Violent Crimes',
  S2: 'Non-Violent Crimes',
  S3: 'Sex-Related Crimes',
  S4: 'Child Sexual Exploitation',
  S5: 'Defamation',
  S6: 'Specialized Advice',
  S7: 'Privacy',
  S8: 'Intellectual Property',
  S9: 'Indiscriminate Weapons',
  S10: 'Hate',
  S11: 'Suicide & Self-Harm',
  S12: 'Sexual Content',
  S13: 'Elections',
  S14: 'Code Interpreter Abuse',
};

export const DEFAULT_JUDGE_PROMPT = [
  "Task: Check if there is unsafe content in '{{role}}' messages in conversations according to our safety policy with the below categories.",
  '',
  '<BEGIN UNSAFE CONTENT CATEGORIES>',
  ...Object.entries(LLAMA_GUARD_CATEGORIES).map(([code, label]) => `${code}: ${label}.`),
  '<END UNSAFE CONTENT CATEGORIES>',
  '',
  '<BEGIN CONVERSATION>',
  '',
  '{{role}}: {{text}}',
  '',
  '<END CONVERSATION>',
  '',
  'Provide your safety assessment for ONLY THE LAST {{role}} message in the above conversation:',
  "- First line must read 'safe' or 'unsafe'.",
  '- If unsafe, a second line must include a comma-separated list of violated categories.',
].join('\n');

export type JudgeAnswer = { safe: true } | { safe: false; categories: string[] };

export class JudgeParseError extends Error {}

/** Parses a Llama Guard–style answer: `safe`, or `unsafe` and a line of category codes. */
export function parseJudgeAnswer(answer: string): JudgeAnswer {
  const lines = answer
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const verdict = lines[0]?.toLowerCase();
  if (verdict === 'safe') return { safe: true };
  if (verdict !== 'unsafe') throw new JudgeParseError('the judge answered neither safe nor unsafe');
  const categories = (lines[1] ?? '')
    .split(/[,\s]+/)
    .map((c) => c.toUpperCase())
    .filter((c) => /^S\d{1,2}$/.test(c));
  return { safe: false, categories };
}

/** A moderation model reached through the gateway's own routing (Llama Guard–style LLM judge). */
export class ExternalCheck implements ModerationCheck {
  readonly type = 'external';
  readonly incremental = false;
  readonly name: string;
  /** The judge endpoint, checked against the route table when the config loads. */
  readonly endpoint: string;
  readonly kind: ExternalCheckOptions['kind'];

  constructor(private readonly options: ExternalCheckOptions) {
    this.name = options.name;
    this.endpoint = options.endpoint;
    this.kind = options.kind;
  }

  async run(text: string, ctx: CheckContext): Promise<CheckVerdict> {
    return this.options.kind === 'openai-moderation' ? this.classify(text, ctx) : this.judge(text, ctx);
  }

  private async classify(text: string, ctx: CheckContext): Promise<CheckVerdict> {
    let flagged: string[];
    let scores: Record<string, number>;
    try {
      const result = await ctx.external.moderate({
        endpoint: this.options.endpoint,
        input: text,
        timeoutMs: this.options.timeoutMs,
        signal: ctx.signal,
      });
      flagged = Object.entries(result.categories)
        .filter(([, on]) => on === true)
        .map(([category]) => category);
      scores = result.category_scores;
    } catch (error) {
      return this.fallback(describe(error));
    }
    const wanted = this.options.categories;
    const hits = wanted.length ? flagged.filter((c) => wanted.includes(c)) : flagged;
    if (hits.length === 0) return { check: this.name, action: 'allow', detections: [] };
    const detections: Detection[] = hits.map((category) => ({
      category: `external.${category}`,
      score: typeof scores[category] === 'number' ? scores[category] : 1,
      reason: category,
    }));
    return {
      check: this.name,
      action: this.options.action,
      score: Math.max(...detections.map((d) => d.score ?? 1)),
      detections,
    };
  }

  private async judge(text: string, ctx: CheckContext): Promise<CheckVerdict> {
    const role = ctx.stage === 'input' ? 'User' : 'Agent';
    const prompt = this.options.prompt.replaceAll('{{role}}', role).replaceAll('{{text}}', text);
    let answer: JudgeAnswer;
    try {
      const raw = await ctx.external.complete({
        endpoint: this.options.endpoint,
        prompt,
        timeoutMs: this.options.timeoutMs,
        signal: ctx.signal,
      });
      answer = parseJudgeAnswer(raw);
    } catch (error) {
      const why = error instanceof JudgeParseError ? 'unreadable answer' : describe(error);
      return this.fallback(why);
    }
    if (answer.safe) return { check: this.name, action: 'allow', detections: [] };
    const wanted = this.options.categories;
    const hits = wanted.length ? answer.categories.filter((c) => wanted.includes(c)) : answer.categories;
    if (wanted.length && hits.length === 0) return { check: this.name, action: 'allow', detections: [] };
    const codes = hits.length ? hits : ['unsafe'];
    return {
      check: this.name,
      action: this.options.action,
      score: 1,
      detections: codes.map((code) => ({
        category: `external.${code}`,
        score: 1,
        reason: LLAMA_GUARD_CATEGORIES[code] ?? 'unsafe content',
      })),
    };
  }

  private fallback(why: string): CheckVerdict {
    const action = this.options.onError === 'block' ? 'block' : 'allow';
    return {
      check: this.name,
      action,
      error: why,
      detections:
        action === 'block'
          ? [{ category: 'external.unavailable', reason: `moderation model unavailable (${why})` }]
          : [],
    };
  }
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  if (error instanceof Error && /timed? ?out/i.test(error.message)) return 'timed out';
  return 'call failed';
}
