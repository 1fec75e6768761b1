import { Module } from '@nestjs/common';
import { AuditRepository } from 'src/modules/audit/audit.repository';
import { AuditService } from 'src/modules/audit/audit.service';

@Module({ providers: [AuditRepository, AuditService], exports: [AuditService] })
export class AuditModule {}
