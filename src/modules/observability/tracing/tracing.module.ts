import { Module } from '@nestjs/common';
import { GatewayTracing } from 'src/modules/observability/tracing/gateway-tracing.service';

/** OpenTelemetry spans for the gateway phases and provider attempts (the SDK is started by src/tracing.ts). */
@Module({ providers: [GatewayTracing], exports: [GatewayTracing] })
export class TracingModule {}
