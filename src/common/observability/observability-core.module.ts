import { Global, Module } from '@nestjs/common';
import { InvocationTracker } from 'src/common/observability/invocation-tracker.service';
import { Telemetry } from 'src/common/observability/telemetry';

/**
 * Shared by every module on the request path: the invocation record and the telemetry seam. The
 * observability module overrides `Telemetry` with the OpenTelemetry-backed implementation.
 */
@Global()
@Module({
  providers: [InvocationTracker, Telemetry],
  exports: [InvocationTracker, Telemetry],
})
export class ObservabilityCoreModule {}
