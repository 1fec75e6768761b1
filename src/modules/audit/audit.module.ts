import { Module } from '@nestjs/common';
import { DENIAL_RECORDER } from 'src/common/errors/denial-recorder';
import { AuditController } from 'src/modules/audit/audit.controller';
import { AuditQueryService } from 'src/modules/audit/audit-query.service';
import { AuditRepository } from 'src/modules/audit/audit.repository';
import { AuditService } from 'src/modules/audit/audit.service';

@Module({
  controllers: [AuditController],
  providers: [
    AuditRepository,
    AuditService,
    AuditQueryService,
    // The exception filter records admin requests a service refused with 403 through it.
    { provide: DENIAL_RECORDER, useExisting: AuditService },
  ],
  exports: [AuditService, DENIAL_RECORDER],
})
export class AuditModule {}
