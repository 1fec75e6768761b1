import { Injectable } from '@nestjs/common';
import { retryDelayMs, sleep } from 'src/modules/routing/traffic/backoff';
import { CircuitBreaker } from 'src/modules/routing/traffic/circuit-breaker';
import { Balanced, LoadBalancer } from 'src/modules/routing/traffic/load-balancer';
import {
  BalancingAlgorithm,
  EjectionPolicy,
  ResiliencePolicy,
} from 'src/modules/routing/traffic/traffic-policy';
import { TrafficClock, TrafficState } from 'src/modules/routing/traffic/traffic-state.service';

/** How an instance's call ended, for its balancer state (ejection counts failures only). */
export type InstanceOutcome = 'success' | 'failure' | 'cancel';

/**
 * What a failed attempt means: `failure` is retryable and counts against the target (connection,
 * timeout, 5xx); `throttled` (429) is retryable but the target is alive; `fatal` (the caller's 4xx, a
 * refusal) ends the request.
 */
export type FailureKind = 'failure' | 'throttled' | 'fatal';

export interface ChainInstances<I extends Balanced> {
  readonly list: readonly I[];
  readonly algorithm: BalancingAlgorithm;
  readonly ejection: EjectionPolicy;
}

/** One target of a chain: an LLM endpoint, or a predict endpoint's current model version. */
export interface ChainTarget<I extends Balanced = Balanced> {
  readonly name: string;
  readonly resilience?: ResiliencePolicy;
  readonly instances?: ChainInstances<I>;
}

/** The surface-specific half of a chain: how its errors read and how it calls one target. */
export interface ChainSpec<Tg extends ChainTarget<I>, I extends Balanced, T> {
  /** The endpoint first, then its fallbacks, then the route's (see `fallbackChain`). */
  targets: readonly Tg[];
  signal: AbortSignal;
  /** Streams settle the instance themselves when they end (`release('success')`), not on return. */
  stream: boolean;
  /** The whole request's deadline (the first target's `deadline_ms`). */
  deadlineMs: number | undefined;
  /** Breaker, retry-budget and balancer key of a target (default: its name). */
  key?(target: Tg): string;
  headersMs(target: Tg): number | undefined;
  classify(error: unknown): FailureKind;
  retryAfterMs(error: unknown): number | undefined;
  deadlineError(deadlineMs: number): Error;
  circuitOpenError(target: Tg, cooldownMs: number | undefined): Error;
  exhaustedError(): Error;
  /** A target passed over without a verdict (e.g. a fallback that cannot stream). */
  skip?(target: Tg): boolean;
  /** A target that cannot be called now (e.g. no routable model version): a retryable failure. */
  unavailable?(target: Tg): Error | undefined;
  /** The chain leaves a target that failed retryably for the next one (its last error). */
  onLeave?(target: Tg, error: Error): void;
  attempt(
    target: Tg,
    instance: I | undefined,
    headersMs: number | undefined,
    release: (outcome: InstanceOutcome) => void,
    signal: AbortSignal,
  ): Promise<T>;
}

/**
 * Runs one request through a chain of targets: each up to `retry.attempts` times with jittered
 * back-off (or the upstream's Retry-After, capped), within its retry budget and the request's
 * deadline, skipping targets whose circuit is open and balancing over a target's instances (ejected or
 * unhealthy ones out of rotation; a retry prefers an instance not tried yet). Only retryable failures
 * move on; a fatal one or a cancel ends the request. Shared by LLM endpoints and predict endpoints, so
 * both behave alike; the state (breakers, budgets, balancers) lives in TrafficState.
 */
@Injectable()
export class AttemptChain {
  constructor(
    private readonly state: TrafficState,
    private readonly clock: TrafficClock,
  ) {}

  async run<Tg extends ChainTarget<I>, I extends Balanced, T>(spec: ChainSpec<Tg, I, T>): Promise<T> {
    const { signal, stream, deadlineMs } = spec;
    const keyOf = (target: Tg): string => spec.key?.(target) ?? target.name;
    const deadline = deadlineMs === undefined ? undefined : this.clock.now() + deadlineMs;
    let lastError: Error | undefined;
    let first = true;
    for (const target of spec.targets) {
      const isFirst = first;
      first = false;
      if (!isFirst && spec.skip?.(target)) continue;
      const refusal = spec.unavailable?.(target);
      if (refusal) {
        lastError = refusal;
        spec.onLeave?.(target, refusal);
        continue;
      }
      const key = keyOf(target);
      const policy = target.resilience;
      const retry = policy?.retry;
      const budget = retry ? this.state.budget(key, retry.budget) : undefined;
      budget?.request();
      const tried = new Set<string>();
      let failedHere: Error | undefined;
      for (let attempt = 1; attempt <= (retry?.attempts ?? 1); attempt++) {
        if (attempt > 1) {
          if (!retry || !budget?.tryRetry()) break;
          const delay = retryDelayMs(retry, attempt - 1, spec.retryAfterMs(lastError));
          if (deadline !== undefined && this.clock.now() + delay >= deadline) {
            throw lastError ?? spec.deadlineError(deadlineMs!);
          }
          await sleep(delay, signal);
          if (signal.aborted) throw lastError ?? spec.deadlineError(0);
        }
        const slot = this.acquire(target, key, tried);
        if (!slot) {
          if (!failedHere) {
            failedHere = spec.circuitOpenError(target, policy?.breaker?.cooldownMs);
            lastError ??= failedHere;
          }
          break;
        }
        let headersMs = spec.headersMs(target);
        // The deadline is our own timer (undici's timeouts are coarse); it only runs until the attempt
        // answered (a stream's first chunk), so it never cuts a stream that is already flowing.
        let attemptSignal = signal;
        let expired = false;
        let timer: NodeJS.Timeout | undefined;
        if (deadline !== undefined) {
          const remaining = deadline - this.clock.now();
          if (remaining <= 0) {
            slot.breaker?.onCancel();
            throw lastError ?? spec.deadlineError(deadlineMs!);
          }
          headersMs = headersMs === undefined ? remaining : Math.min(headersMs, remaining);
          const controller = new AbortController();
          signal.addEventListener('abort', () => controller.abort(), { once: true });
          timer = setTimeout(() => {
            expired = true;
            controller.abort();
          }, remaining);
          attemptSignal = controller.signal;
        }
        const { instance, instanceKey, breaker, balancer } = slot;
        const ejection = target.instances?.ejection;
        let released = false;
        const release = (outcome: InstanceOutcome) => {
          if (released || !balancer || !ejection) return;
          released = true;
          balancer.end(instanceKey, outcome, ejection);
        };
        balancer?.begin(instanceKey);
        try {
          const result = await spec.attempt(target, instance, headersMs, release, attemptSignal);
          breaker?.onSuccess();
          if (!stream) release('success');
          return result;
        } catch (error) {
          const verdict = expired ? 'failure' : signal.aborted ? 'cancel' : spec.classify(error);
          if (verdict === 'failure') breaker?.onFailure();
          else breaker?.onCancel();
          release(verdict === 'failure' ? 'failure' : 'cancel');
          if (expired) throw spec.deadlineError(deadlineMs!);
          if (verdict === 'fatal' || verdict === 'cancel') throw error;
          lastError = error as Error;
          failedHere = lastError;
          tried.add(instanceKey);
        } finally {
          clearTimeout(timer);
        }
      }
      if (failedHere) spec.onLeave?.(target, failedHere);
    }
    throw lastError ?? spec.exhaustedError();
  }

  /** The instance (or the target itself) to call next, past open circuits; undefined when none may be called. */
  private acquire<I extends Balanced>(
    target: ChainTarget<I>,
    key: string,
    tried: Set<string>,
  ):
    | {
        instance: I | undefined;
        instanceKey: string;
        breaker: CircuitBreaker | undefined;
        balancer: LoadBalancer | undefined;
      }
    | undefined {
    const breakerPolicy = target.resilience?.breaker;
    const instances = target.instances;
    if (!instances) {
      const breaker = breakerPolicy ? this.state.breaker(key, breakerPolicy) : undefined;
      if (breaker && !breaker.tryAcquire()) return undefined;
      return { instance: undefined, instanceKey: key, breaker, balancer: undefined };
    }
    const balancer = this.state.balancer(key);
    const refused = new Set(tried);
    for (let i = 0; i < instances.list.length; i++) {
      const instance = balancer.pick(instances.list, instances.algorithm, refused);
      if (refused.has(instance.key) && refused.size < instances.list.length) continue;
      const breaker = breakerPolicy ? this.state.breaker(instance.key, breakerPolicy) : undefined;
      if (!breaker || breaker.tryAcquire()) return { instance, instanceKey: instance.key, breaker, balancer };
      refused.add(instance.key);
    }
    return undefined;
  }
}

/**
 * The targets one request may try, in order: the endpoint, its own fallbacks, then the route's
 * fallbacks (each once).
 */
export function fallbackChain<E extends { fallbacks?: readonly E[] }>(
  endpoint: E,
  routeFallbacks: readonly E[] | undefined,
): E[] {
  const chain = [endpoint, ...(endpoint.fallbacks ?? [])];
  for (const extra of routeFallbacks ?? []) if (!chain.includes(extra)) chain.push(extra);
  return chain;
}
