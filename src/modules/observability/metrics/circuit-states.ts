import { Injectable } from '@nestjs/common';

export type CircuitState = 'closed' | 'half_open' | 'open';

export const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'half_open', 'open'];

/** One breaker as its owner sees it now. */
export interface CircuitStatus {
  /** The target the breaker guards (an endpoint name or `endpoint#target`, as on the invocation record). */
  target: string;
  state: CircuitState;
  /** Why it is open (last failure, in words safe to show operators), if known. */
  reason?: string;
}

/**
 * Implemented by whoever owns circuit breakers (routing). Read on each scrape and readiness probe, never
 * on the request path, so it may build its answer on demand.
 */
export interface CircuitStateSource {
  circuits(): Iterable<CircuitStatus>;
}

/**
 * Where breaker owners register, and where metrics (`gatehouse_circuit_breaker_state`) and readiness read.
 * With no source registered there are no circuits: the gauge has no series and readiness reports `ok`.
 */
@Injectable()
export class CircuitStates {
  private sources: readonly CircuitStateSource[] = [];

  /** Adds a source; returns the function that removes it again. */
  register(source: CircuitStateSource): () => void {
    this.sources = [...this.sources, source];
    return () => {
      this.sources = this.sources.filter((s) => s !== source);
    };
  }

  /** Every registered source's circuits; a source that throws is skipped (a scrape or probe must answer). */
  snapshot(): CircuitStatus[] {
    const all: CircuitStatus[] = [];
    for (const source of this.sources) {
      try {
        for (const status of source.circuits()) all.push(status);
      } catch {
        continue;
      }
    }
    return all;
  }
}
