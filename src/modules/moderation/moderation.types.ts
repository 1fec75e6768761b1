/** Where a check runs: on the prompt before the upstream call, or on the completion after it. */
export type ModerationStage = 'input' | 'output';

/** What a check (or a whole stage) decided. Ordered by severity: block > redact > flag > allow. */
export type ModerationAction = 'allow' | 'redact' | 'block' | 'flag';

export const ACTION_SEVERITY: Record<ModerationAction, number> = { allow: 0, flag: 1, redact: 2, block: 3 };

/** One thing a check found in a text: a category and, when it can be located, its span. */
export interface Detection {
  /** Dotted category, e.g. `pii.email`, `deny_list.keyword`, `profanity`, `prompt_injection`. */
  category: string;
  /** Span in the scanned text (UTF-16 offsets); absent for whole-text findings (external judges). */
  start?: number;
  end?: number;
  /** Confidence in [0, 1] where the check computes one. */
  score?: number;
  /** A short, non-leaking reason (never the matched text). */
  reason: string;
}

/** The verdict of one check on one text. */
export interface CheckVerdict {
  check: string;
  action: ModerationAction;
  detections: Detection[];
  /** Overall score for scored checks (injection), else the highest detection score. */
  score?: number;
  /** The text after this check's redactions (only when action is `redact`). */
  text?: string;
  /** Set when the check could not decide (external model timed out) and the policy's fallback applied. */
  error?: string;
}

/** Request-scoped facilities a check may use; built-in checks ignore it. */
export interface CheckContext {
  stage: ModerationStage;
  /** Role of the message the text came from (`user`, `system`, …) or undefined for prompts/completions. */
  role?: string;
  /** Remembers originals for reversible placeholders. */
  vault: PlaceholderSink;
  /** Calls a moderation model through the gateway's own routing. */
  external: ExternalModerationCaller;
  signal: AbortSignal;
}

export interface PlaceholderSink {
  placeholderFor(kind: string, original: string): string;
}

export interface ExternalJudgeRequest {
  endpoint: string;
  prompt: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface ExternalClassifierRequest {
  endpoint: string;
  input: string;
  timeoutMs: number;
  signal: AbortSignal;
}

/** One result of an OpenAI-compatible `/v1/moderations` call. */
export interface ClassifierResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
}

export interface ExternalModerationCaller {
  /** Returns the judge model's text answer; throws on timeout or upstream failure. */
  complete(request: ExternalJudgeRequest): Promise<string>;
  /** Calls an OpenAI-compatible `/v1/moderations` API; throws on timeout, upstream failure or a bad body. */
  moderate(request: ExternalClassifierRequest): Promise<ClassifierResult>;
}

/**
 * The contract every guardrail check implements. `run` must not throw for content reasons: it returns a
 * verdict. `incremental` checks are cheap and local and run on every streamed window; the others run
 * once on a complete text (at the end of a stream).
 */
export interface ModerationCheck {
  /** The name shown to callers in a block message (`Guardrail '<name>' blocked: …`). */
  readonly name: string;
  readonly type: string;
  readonly incremental: boolean;
  run(text: string, ctx: CheckContext): CheckVerdict | Promise<CheckVerdict>;
}

/** A policy ready to run: its checks compiled once, when the config or override was loaded. */
export interface CompiledPolicy {
  name: string;
  input: readonly ModerationCheck[];
  output: readonly ModerationCheck[];
  /** Characters held back from a stream so a match split across chunks is still caught. */
  streamWindow: number;
}

export function maxAction(a: ModerationAction, b: ModerationAction): ModerationAction {
  return ACTION_SEVERITY[a] >= ACTION_SEVERITY[b] ? a : b;
}
