import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult } from '@nestjs/terminus';
import { RegistryService } from 'src/modules/registry/registry.service';

/**
 * Readiness view of the registry sync. A registry that cannot be reached leaves the gateway ready
 * (the last snapshot keeps serving) and reports `state: degraded` with the reason.
 */
@Injectable()
export class RegistryHealthIndicator {
  constructor(private readonly registry: RegistryService) {}

  check(key: 'registry'): HealthIndicatorResult<'registry'> {
    const health = this.registry.health();
    const result: HealthIndicatorResult<'registry'> = { [key]: { status: 'up', ...health } };
    return result;
  }
}
