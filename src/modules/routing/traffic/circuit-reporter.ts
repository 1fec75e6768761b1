import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import { TrafficState } from 'src/modules/routing/traffic/traffic-state.service';

/** Shows routing's circuit breakers to metrics (`gatehouse_circuit_breaker_state`) and readiness. */
@Injectable()
export class CircuitReporter implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | undefined;

  constructor(
    private readonly traffic: TrafficState,
    private readonly states: CircuitStates,
  ) {}

  onModuleInit(): void {
    this.unregister = this.states.register({ circuits: () => this.traffic.circuits() });
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }
}
