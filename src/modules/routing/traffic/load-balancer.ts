import { BalancingAlgorithm, EjectionPolicy } from 'src/modules/routing/traffic/traffic-policy';

/** One instance as the balancer sees it: a stable key and a weight. */
export interface Balanced {
  key: string;
  weight: number;
}

interface InstanceState {
  outstanding: number;
  failures: number;
  ejectedUntil: number;
  ejections: number;
  /** Verdict of the active health check (true until a check says otherwise). */
  healthy: boolean;
}

/**
 * Spreads one endpoint's requests over its instances (round robin, least outstanding requests, or
 * weighted random) and keeps them out of rotation while they are unhealthy: failed active health
 * checks, or passive ejection after N failures in a row for base × (times ejected) ms, capped. When
 * every instance is out, it balances over all of them (Envoy's panic mode) rather than failing.
 */
export class LoadBalancer {
  private cursor = 0;
  private readonly states = new Map<string, InstanceState>();

  constructor(private readonly now: () => number = Date.now) {}

  pick<T extends Balanced>(
    instances: readonly T[],
    algorithm: BalancingAlgorithm,
    exclude?: ReadonlySet<string>,
    random: () => number = Math.random,
  ): T {
    const now = this.now();
    let pool = instances.filter((i) => this.available(i.key, now) && !exclude?.has(i.key));
    if (pool.length === 0) pool = instances.filter((i) => !exclude?.has(i.key));
    if (pool.length === 0) pool = [...instances];
    if (pool.length === 1) return pool[0];
    switch (algorithm) {
      case 'weighted': {
        let draw = random() * pool.reduce((sum, i) => sum + i.weight, 0);
        for (const instance of pool) {
          draw -= instance.weight;
          if (draw < 0) return instance;
        }
        return pool[pool.length - 1];
      }
      case 'least_outstanding': {
        // Start the scan at a rotating offset so ties are spread instead of all going to the first.
        const start = this.cursor++ % pool.length;
        let best = pool[start];
        for (let i = 1; i < pool.length; i++) {
          const candidate = pool[(start + i) % pool.length];
          if (this.state(candidate.key).outstanding < this.state(best.key).outstanding) best = candidate;
        }
        return best;
      }
      default:
        return pool[this.cursor++ % pool.length];
    }
  }

  available(key: string, now: number = this.now()): boolean {
    const state = this.states.get(key);
    return !state || (state.healthy && state.ejectedUntil <= now);
  }

  outstanding(key: string): number {
    return this.states.get(key)?.outstanding ?? 0;
  }

  begin(key: string): void {
    this.state(key).outstanding++;
  }

  end(key: string, outcome: 'success' | 'failure' | 'cancel', ejection: EjectionPolicy): void {
    const state = this.state(key);
    state.outstanding = Math.max(0, state.outstanding - 1);
    if (outcome === 'success') {
      state.failures = 0;
      if (state.ejectedUntil <= this.now()) state.ejections = 0;
    } else if (outcome === 'failure' && ++state.failures >= ejection.consecutiveFailures) {
      state.ejections++;
      state.failures = 0;
      state.ejectedUntil = this.now() + Math.min(ejection.maxMs, ejection.baseMs * state.ejections);
    }
  }

  setHealthy(key: string, healthy: boolean): void {
    this.state(key).healthy = healthy;
  }

  private state(key: string): InstanceState {
    let state = this.states.get(key);
    if (!state) {
      state = { outstanding: 0, failures: 0, ejectedUntil: 0, ejections: 0, healthy: true };
      this.states.set(key, state);
    }
    return state;
  }
}
