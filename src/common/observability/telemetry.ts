import { Injectable } from '@nestjs/common';
import { InvocationRecord } from 'src/common/observability/invocation';

/** One upstream attempt, as routing starts it (one per retry or fallback). */
export interface AttemptInfo {
  operation: string;
  endpoint: string;
  target: string;
  provider: string;
  model: string | undefined;
  /** 1-based attempt number within the request. */
  attempt: number;
  stream: boolean;
  /** Upstream URL (for `server.address`); may be undefined for non-HTTP targets. */
  url?: string;
}

export interface AttemptResult {
  /** Upstream HTTP status, when one was received. */
  status?: number;
  /** `timeout` | `connect` | `aborted` | `protocol` … when no usable status. */
  error?: string;
  responseModel?: string;
  inputTokens?: number;
  outputTokens?: number;
}

export interface AttemptScope {
  /** The first byte of the upstream body (stream time to first token). */
  firstByte(): void;
  end(result: AttemptResult): void;
}

/** Gateway phases that get their own child span. */
export type Phase = 'auth' | 'limits' | 'prompt' | 'conversation' | 'moderation' | 'cache' | 'routing';

/**
 * The seam between the request path and observability: modules call it, the observability module binds
 * the real implementation (spans, histograms). The default does nothing and costs nothing.
 */
@Injectable()
export class Telemetry {
  /** Runs `fn` inside a child span named `gatehouse.<phase>` of the current request span. */
  phase<T>(_phase: Phase, _record: InvocationRecord | undefined, fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  attempt(_record: InvocationRecord | undefined, _info: AttemptInfo): AttemptScope {
    return NOOP_SCOPE;
  }
}

const NOOP_SCOPE: AttemptScope = {
  firstByte() {},
  end() {},
};
