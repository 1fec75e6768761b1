import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AdminDenialInterceptor } from 'src/modules/audit/admin-denial.interceptor';
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
    { provide: APP_INTERCEPTOR, useClass: AdminDenialInterceptor },
  ],
  exports: [AuditService],
})
export class AuditModule {}
