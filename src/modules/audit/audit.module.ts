import { Module } from '@nestjs/common';
import { AuditController } from 'src/modules/audit/audit.controller';
import { AuditQueryService } from 'src/modules/audit/audit-query.service';
import { AuditRepository } from 'src/modules/audit/audit.repository';
import { AuditService } from 'src/modules/audit/audit.service';

@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditService, AuditQueryService],
  exports: [AuditService],
})
export class AuditModule {}
