/*
 * Gatehouse traffic extensions of gateway.yaml (`gatehouse:` keys, which MLflow ignores), parsed into
 * plain immutable policies. Every problem is collected with its location, like the rest of the loader.
 */

export interface RetryBudgetPolicy {
  /** Retries allowed as a fraction of the requests the target saw in the window (Envoy's budget_percent). */
  ratio: number;
  /** Retries always allowed in a window, so a quiet target can still retry. */
  minRetries: number;
  windowMs: number;
}

export interface RetryPolicy {
  /** Attempts per target, the first included (1 = no retry). */
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** Longest `Retry-After` honoured; a longer one is cut to this. */
  retryAfterCapMs: number;
  budget: RetryBudgetPolicy;
}

export interface CircuitBreakerPolicy {
  /** Opens after this many failures in a row. */
  consecutiveFailures: number;
  /** Opens when the failure ratio in the window reaches this (0 < x ≤ 1)… */
  errorRate: number | undefined;
  /** …over at least this many calls. */
  minRequests: number;
  windowMs: number;
  /** Time open before one half-open probe is let through. */
  cooldownMs: number;
}

export interface EjectionPolicy {
  /** An instance is ejected after this many failures in a row… */
  consecutiveFailures: number;
  /** …for baseMs × (times ejected so far), at most maxMs. */
  baseMs: number;
  maxMs: number;
}

export interface HealthCheckPolicy {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Failed probes in a row before an instance is marked down. */
  unhealthyThreshold: number;
}

export type BalancingAlgorithm = 'round_robin' | 'least_outstanding' | 'weighted';

/** Resilience settings of one endpoint; `undefined` on the entry when none is configured (fast path). */
export interface ResiliencePolicy {
  retry: RetryPolicy | undefined;
  breaker: CircuitBreakerPolicy | undefined;
  /** Total time for the request across attempts, back-offs and fallbacks (until the first byte). */
  deadlineMs: number | undefined;
}

export type StickyKey =
  | { kind: 'principal' }
  | { kind: 'team' }
  | { kind: 'user' }
  | { kind: 'header'; name: string }
  | { kind: 'metadata'; name: string };

export interface RuleCondition {
  metadata: [string, string[]][];
  headers: [string, string[]][];
  /** Dotted paths into the request body. */
  fields: [string[], string[]][];
  minPromptTokens: number | undefined;
  maxPromptTokens: number | undefined;
}

export interface RawRule {
  destination: string;
  when: RuleCondition;
}

export interface RouteStrategyConfig {
  sticky: StickyKey | undefined;
  rules: RawRule[];
  fallbacks: string[];
}

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Reader {
  constructor(
    private readonly where: string,
    private readonly problems: string[],
  ) {}

  problem(key: string, message: string): undefined {
    this.problems.push(`${this.where}: gatehouse.${key} ${message}`);
    return undefined;
  }

  map(value: unknown, key: string): RawMap | undefined {
    if (value === undefined || value === null) return undefined;
    if (isMap(value)) return value;
    return this.problem(key, 'must be a mapping.');
  }

  int(value: unknown, key: string, min: number, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      this.problem(key, `must be an integer ≥ ${min}.`);
      return fallback;
    }
    return value;
  }

  optionalInt(value: unknown, key: string, min: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    return this.int(value, key, min, min);
  }

  ratio(value: unknown, key: string, fallback: number | undefined): number | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !(value > 0) || value > 1) {
      this.problem(key, 'must be a number in (0, 1].');
      return fallback;
    }
    return value;
  }

  names(value: unknown, key: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
      this.problem(key, 'must be a list of endpoint names.');
      return [];
    }
    return value as string[];
  }

  known(map: RawMap, key: string, allowed: readonly string[]): void {
    for (const name of Object.keys(map)) {
      if (!allowed.includes(name))
        this.problem(`${key}.${name}`, `is not a known key (${allowed.join(', ')}).`);
    }
  }
}

const RETRY_KEYS = ['attempts', 'backoff_ms', 'max_backoff_ms', 'retry_after_cap_ms', 'budget'];
const BUDGET_KEYS = ['ratio', 'min_retries', 'window_ms'];
const BREAKER_KEYS = ['consecutive_failures', 'error_rate', 'min_requests', 'window_ms', 'cooldown_ms'];

/** `gatehouse.retry`, `gatehouse.circuit_breaker`, `gatehouse.deadline_ms` of an endpoint. */
export function parseResiliencePolicy(
  ext: RawMap,
  where: string,
  problems: string[],
): ResiliencePolicy | undefined {
  const r = new Reader(where, problems);
  const deadlineMs = r.optionalInt(ext.deadline_ms, 'deadline_ms', 1);
  const retryMap = r.map(ext.retry, 'retry');
  let retry: RetryPolicy | undefined;
  if (retryMap) {
    r.known(retryMap, 'retry', RETRY_KEYS);
    const budgetMap = r.map(retryMap.budget, 'retry.budget') ?? {};
    r.known(budgetMap, 'retry.budget', BUDGET_KEYS);
    const backoffMs = r.int(retryMap.backoff_ms, 'retry.backoff_ms', 0, 100);
    retry = {
      attempts: r.int(retryMap.attempts, 'retry.attempts', 1, 2),
      backoffMs,
      maxBackoffMs: Math.max(backoffMs, r.int(retryMap.max_backoff_ms, 'retry.max_backoff_ms', 0, 2_000)),
      retryAfterCapMs: r.int(retryMap.retry_after_cap_ms, 'retry.retry_after_cap_ms', 0, 5_000),
      budget: {
        ratio: r.ratio(budgetMap.ratio, 'retry.budget.ratio', 0.2) ?? 0.2,
        minRetries: r.int(budgetMap.min_retries, 'retry.budget.min_retries', 0, 3),
        windowMs: r.int(budgetMap.window_ms, 'retry.budget.window_ms', 100, 10_000),
      },
    };
  }
  const breakerMap = r.map(ext.circuit_breaker, 'circuit_breaker');
  let breaker: CircuitBreakerPolicy | undefined;
  if (breakerMap) {
    r.known(breakerMap, 'circuit_breaker', BREAKER_KEYS);
    breaker = {
      consecutiveFailures: r.int(
        breakerMap.consecutive_failures,
        'circuit_breaker.consecutive_failures',
        1,
        5,
      ),
      errorRate: r.ratio(breakerMap.error_rate, 'circuit_breaker.error_rate', undefined),
      minRequests: r.int(breakerMap.min_requests, 'circuit_breaker.min_requests', 1, 20),
      windowMs: r.int(breakerMap.window_ms, 'circuit_breaker.window_ms', 100, 10_000),
      cooldownMs: r.int(breakerMap.cooldown_ms, 'circuit_breaker.cooldown_ms', 1, 30_000),
    };
  }
  if (!retry && !breaker && deadlineMs === undefined) return undefined;
  return { retry, breaker, deadlineMs };
}

/** `gatehouse.fallbacks` of an endpoint or a route: names of endpoints tried in order. */
export function parseFallbacks(ext: RawMap, where: string, problems: string[]): string[] {
  return new Reader(where, problems).names(ext.fallbacks, 'fallbacks');
}

const LB: readonly BalancingAlgorithm[] = ['round_robin', 'least_outstanding', 'weighted'];

export interface RawInstance {
  name: string;
  weight: number;
  /** Overrides merged over the endpoint's `model.config` (e.g. another `openai_api_base`). */
  config: RawMap;
}

export interface InstancesConfig {
  instances: RawInstance[];
  algorithm: BalancingAlgorithm;
  ejection: EjectionPolicy;
  healthCheck: HealthCheckPolicy | undefined;
}

/** `gatehouse.instances` (+ `load_balancing`, `ejection`, `health_check`); undefined when not set. */
export function parseInstances(
  ext: RawMap,
  where: string,
  problems: string[],
  defaultHealthPath: string,
): InstancesConfig | undefined {
  const r = new Reader(where, problems);
  if (ext.instances === undefined || ext.instances === null) return undefined;
  if (!Array.isArray(ext.instances) || ext.instances.length === 0) {
    return r.problem('instances', 'must be a non-empty list of {name?, weight?, config}.');
  }
  const instances: RawInstance[] = [];
  const seen = new Set<string>();
  ext.instances.forEach((item, index) => {
    const key = `instances[${index}]`;
    if (typeof item === 'string') {
      instances.push({ name: String(index + 1), weight: 1, config: { url: item } });
      return;
    }
    if (!isMap(item)) return r.problem(key, 'must be a mapping with a config, or a URL.');
    const name = item.name === undefined ? String(index + 1) : item.name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9_\-.]+$/.test(name)) {
      return r.problem(`${key}.name`, 'must be made of letters, digits, -, _ and .');
    }
    if (seen.has(name)) return r.problem(`${key}.name`, `'${name}' is used twice.`);
    seen.add(name);
    const config = r.map(item.config, `${key}.config`) ?? {};
    instances.push({ name, weight: r.int(item.weight, `${key}.weight`, 1, 1), config });
  });
  return { instances, ...readBalancing(ext, r, defaultHealthPath) };
}

export interface BalancingConfig {
  algorithm: BalancingAlgorithm;
  ejection: EjectionPolicy;
  healthCheck: HealthCheckPolicy | undefined;
}

/**
 * `gatehouse.load_balancing`, `ejection` and `health_check` alone: how the instances of one target are
 * balanced, ejected and checked. LLM endpoints list their instances under `gatehouse.instances`; a
 * predict endpoint's instances are the scoring servers its version's serving address lists.
 */
export function parseBalancing(
  ext: RawMap,
  where: string,
  problems: string[],
  defaultHealthPath: string,
): BalancingConfig {
  return readBalancing(ext, new Reader(where, problems), defaultHealthPath);
}

function readBalancing(ext: RawMap, r: Reader, defaultHealthPath: string): BalancingConfig {
  const algorithm = ext.load_balancing ?? 'round_robin';
  if (!LB.includes(algorithm as BalancingAlgorithm)) {
    r.problem('load_balancing', `must be one of ${LB.join(', ')}.`);
  }
  return {
    algorithm: LB.includes(algorithm as BalancingAlgorithm)
      ? (algorithm as BalancingAlgorithm)
      : 'round_robin',
    ejection: parseEjection(ext, r),
    healthCheck: parseHealthCheck(ext, r, defaultHealthPath),
  };
}

function parseEjection(ext: RawMap, r: Reader): EjectionPolicy {
  const map = r.map(ext.ejection, 'ejection') ?? {};
  r.known(map, 'ejection', ['consecutive_failures', 'base_ms', 'max_ms']);
  const baseMs = r.int(map.base_ms, 'ejection.base_ms', 1, 30_000);
  return {
    consecutiveFailures: r.int(map.consecutive_failures, 'ejection.consecutive_failures', 1, 3),
    baseMs,
    maxMs: Math.max(baseMs, r.int(map.max_ms, 'ejection.max_ms', 1, 300_000)),
  };
}

export function parseHealthCheck(
  ext: RawMap,
  r: Reader | { where: string; problems: string[] },
  defaultPath: string,
): HealthCheckPolicy | undefined {
  const reader = r instanceof Reader ? r : new Reader(r.where, r.problems);
  const map = reader.map(ext.health_check, 'health_check');
  if (!map) return undefined;
  reader.known(map, 'health_check', ['path', 'interval_ms', 'timeout_ms', 'unhealthy_threshold']);
  const path = map.path ?? defaultPath;
  if (typeof path !== 'string' || !path.startsWith('/'))
    reader.problem('health_check.path', "must start with '/'.");
  return {
    path: typeof path === 'string' && path.startsWith('/') ? path : defaultPath,
    intervalMs: reader.int(map.interval_ms, 'health_check.interval_ms', 100, 10_000),
    timeoutMs: reader.int(map.timeout_ms, 'health_check.timeout_ms', 1, 2_000),
    unhealthyThreshold: reader.int(map.unhealthy_threshold, 'health_check.unhealthy_threshold', 1, 2),
  };
}

const STICKY = /^(principal|team|user|header:[A-Za-z0-9_-]+|metadata:[A-Za-z0-9_.-]+)$/;

/** `gatehouse.sticky`, `gatehouse.rules` and `gatehouse.fallbacks` of a traffic route. */
export function parseRouteStrategy(ext: RawMap, where: string, problems: string[]): RouteStrategyConfig {
  const r = new Reader(where, problems);
  let sticky: StickyKey | undefined;
  const rawSticky = isMap(ext.sticky) ? ext.sticky.key : ext.sticky;
  if (rawSticky !== undefined && rawSticky !== null) {
    if (typeof rawSticky !== 'string' || !STICKY.test(rawSticky)) {
      r.problem('sticky', 'must be principal, team, user, header:<name> or metadata:<key>.');
    } else {
      const [kind, name] = rawSticky.split(/:(.*)/s);
      sticky =
        kind === 'header'
          ? { kind, name: name.toLowerCase() }
          : kind === 'metadata'
            ? { kind, name }
            : { kind: kind as 'principal' | 'team' | 'user' };
    }
  }
  const rules: RawRule[] = [];
  if (ext.rules !== undefined && ext.rules !== null) {
    if (!Array.isArray(ext.rules)) r.problem('rules', 'must be a list of {when, destination}.');
    else
      ext.rules.forEach((rule, index) => {
        const parsed = parseRule(rule, `rules[${index}]`, r);
        if (parsed) rules.push(parsed);
      });
  }
  return { sticky, rules, fallbacks: r.names(ext.fallbacks, 'fallbacks') };
}

function parseRule(raw: unknown, key: string, r: Reader): RawRule | undefined {
  if (!isMap(raw)) return r.problem(key, 'must be a mapping with when and destination.');
  r.known(raw, key, ['when', 'destination']);
  if (typeof raw.destination !== 'string')
    return r.problem(`${key}.destination`, 'must be an endpoint name.');
  const when = r.map(raw.when, `${key}.when`);
  if (!when) return r.problem(`${key}.when`, 'is required.');
  r.known(when, `${key}.when`, ['metadata', 'headers', 'fields', 'prompt_tokens']);
  const pairs = (value: unknown, at: string): [string, string[]][] => {
    const map = r.map(value, at) ?? {};
    return Object.entries(map).map(([name, expected]) => [
      name,
      (Array.isArray(expected) ? expected : [expected]).map(String),
    ]);
  };
  const tokens = r.map(when.prompt_tokens, `${key}.when.prompt_tokens`) ?? {};
  r.known(tokens, `${key}.when.prompt_tokens`, ['min', 'max']);
  return {
    destination: raw.destination,
    when: {
      metadata: pairs(when.metadata, `${key}.when.metadata`),
      headers: pairs(when.headers, `${key}.when.headers`).map(([name, values]) => [
        name.toLowerCase(),
        values,
      ]),
      fields: pairs(when.fields, `${key}.when.fields`).map(([path, values]) => [path.split('.'), values]),
      minPromptTokens: r.optionalInt(tokens.min, `${key}.when.prompt_tokens.min`, 0),
      maxPromptTokens: r.optionalInt(tokens.max, `${key}.when.prompt_tokens.max`, 0),
    },
  };
}
