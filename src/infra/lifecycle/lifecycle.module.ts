import { Global, Module } from '@nestjs/common';
import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';

/** The process's shutdown state, read by readiness and the stream writer (see graceful-shutdown.ts). */
@Global()
@Module({ providers: [ShutdownState], exports: [ShutdownState] })
export class LifecycleModule {}
