import { Injectable } from '@nestjs/common';
import { CircuitBreaker, CircuitState } from 'src/modules/routing/traffic/circuit-breaker';
import { LoadBalancer } from 'src/modules/routing/traffic/load-balancer';
import { RetryBudget } from 'src/modules/routing/traffic/retry-budget';
import { CircuitBreakerPolicy, RetryBudgetPolicy } from 'src/modules/routing/traffic/traffic-policy';

/** A clock behind an injectable so tests can move time. */
@Injectable()
export class TrafficClock {
  now(): number {
    return Date.now();
  }
}

/**
 * The mutable side of traffic management (breakers, retry budgets, balancer state), per process and
 * keyed by target, outside the immutable RouteTable: it survives config reloads, and a target whose
 * policy changed starts afresh.
 */
@Injectable()
export class TrafficState {
  private readonly breakers = new Map<string, { policy: string; breaker: CircuitBreaker }>();
  private readonly budgets = new Map<string, { policy: string; budget: RetryBudget }>();
  private readonly balancers = new Map<string, LoadBalancer>();
  private readonly clock: () => number;

  constructor(clock: TrafficClock) {
    this.clock = () => clock.now();
  }

  breaker(target: string, policy: CircuitBreakerPolicy): CircuitBreaker {
    const key = JSON.stringify(policy);
    const found = this.breakers.get(target);
    if (found && found.policy === key) return found.breaker;
    const breaker = new CircuitBreaker(policy, this.clock);
    this.breakers.set(target, { policy: key, breaker });
    return breaker;
  }

  /** Every breaker's state now (metrics and readiness read this on a scrape or probe, never per request). */
  *circuits(): Iterable<{ target: string; state: CircuitState }> {
    for (const [target, { breaker }] of this.breakers) yield { target, state: breaker.status };
  }

  /** The breaker of a target if one exists (for health reporting). */
  existingBreaker(target: string): CircuitBreaker | undefined {
    return this.breakers.get(target)?.breaker;
  }

  budget(target: string, policy: RetryBudgetPolicy): RetryBudget {
    const key = JSON.stringify(policy);
    const found = this.budgets.get(target);
    if (found && found.policy === key) return found.budget;
    const budget = new RetryBudget(policy, this.clock);
    this.budgets.set(target, { policy: key, budget });
    return budget;
  }

  balancer(endpoint: string): LoadBalancer {
    let balancer = this.balancers.get(endpoint);
    if (!balancer) {
      balancer = new LoadBalancer(this.clock);
      this.balancers.set(endpoint, balancer);
    }
    return balancer;
  }
}
