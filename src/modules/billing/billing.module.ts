import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingController } from 'src/modules/billing/billing.controller';
import { UsageRecordEntity } from 'src/modules/billing/entities/usage-record.entity';
import { LedgerJournal } from 'src/modules/billing/ledger-journal.store';
import { LedgerSpillStore } from 'src/modules/billing/ledger-spill.store';
import { UsageLedgerRepository } from 'src/modules/billing/usage-ledger.repository';
import { UsageQueryRepository } from 'src/modules/billing/usage-query.repository';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { UsageReportService } from 'src/modules/billing/usage-report.service';

/** Usage ledger (every inference/predict request, from INVOCATION_FINISHED) and its reports. */
@Module({
  imports: [TypeOrmModule.forFeature([UsageRecordEntity])],
  controllers: [BillingController],
  providers: [
    LedgerSpillStore,
    LedgerJournal,
    UsageLedgerRepository,
    UsageRecorder,
    UsageQueryRepository,
    UsageReportService,
  ],
  exports: [UsageRecorder],
})
export class BillingModule {}
