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

/** Something that wants to see every upstream attempt (tracing, metrics). */
export interface AttemptObserver {
  attempt(record: InvocationRecord | undefined, info: AttemptInfo): AttemptScope;
}

/** Runs a gateway phase inside its own span (the tracing module provides one). */
export type PhaseRunner = <T>(
  phase: Phase,
  record: InvocationRecord | undefined,
  fn: () => Promise<T>,
) => Promise<T>;

/**
 * The seam between the request path and observability: modules on the request path call it; the
 * observability modules plug in at boot (`usePhaseRunner`, `addAttemptObserver`). With nothing plugged
 * in it does nothing and costs nothing.
 */
@Injectable()
export class Telemetry {
  private runner: PhaseRunner | undefined;
  private observers: AttemptObserver[] = [];

  usePhaseRunner(runner: PhaseRunner): void {
    this.runner = runner;
  }

  addAttemptObserver(observer: AttemptObserver): void {
    this.observers = [...this.observers, observer];
  }

  /** Runs `fn` inside a child span named `gatehouse.<phase>` of the current request span. */
  phase<T>(phase: Phase, record: InvocationRecord | undefined, fn: () => Promise<T>): Promise<T> {
    return this.runner ? this.runner(phase, record, fn) : fn();
  }

  attempt(record: InvocationRecord | undefined, info: AttemptInfo): AttemptScope {
    const observers = this.observers;
    if (observers.length === 0) return NOOP_SCOPE;
    if (observers.length === 1) return observers[0].attempt(record, info);
    const scopes = observers.map((o) => o.attempt(record, info));
    return {
      firstByte: () => scopes.forEach((s) => s.firstByte()),
      end: (result) => scopes.forEach((s) => s.end(result)),
    };
  }
}

const NOOP_SCOPE: AttemptScope = {
  firstByte() {},
  end() {},
};
