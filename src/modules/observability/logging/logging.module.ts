import { Module } from '@nestjs/common';
import { AccessLog } from 'src/modules/observability/logging/access-log.service';

/** Access lines (pino JSON); the logger itself is created in src/bootstrap.ts before Nest starts. */
@Module({ providers: [AccessLog], exports: [AccessLog] })
export class LoggingModule {}
