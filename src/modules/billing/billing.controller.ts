import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import {
  ChargebackQuery,
  ChargebackQueryDto,
  UsageQuery,
  UsageQueryDto,
  UsageRecordsQuery,
  UsageRecordsQueryDto,
} from 'src/modules/billing/dto/usage-query.dto';
import { UsageReportService } from 'src/modules/billing/usage-report.service';

@ApiTags('Admin: usage and chargeback')
@ApiBearerAuth()
@Controller('admin/v1')
export class BillingController {
  constructor(private readonly reports: UsageReportService) {}

  @Get('usage')
  @RequirePermission('billing.read')
  @ApiOperation({
    summary:
      'Usage sums (requests, tokens, cost, errors, cache hits, avg/p95 latency) for a period, optionally per ' +
      'team|key|principal|endpoint|model|day|outcome (groupBy, comma-separated). Filters: from, to, teamId, ' +
      'apiKeyId, principalId, endpoint, model, provider, outcome, status. Without billing.admin: own team only.',
  })
  usage(@Req() request: FastifyRequest, @Query(new ZodPipe(UsageQueryDto)) query: UsageQuery) {
    return this.reports.usage(request, query);
  }

  @Get('usage/records')
  @RequirePermission('billing.read')
  @ApiOperation({
    summary: 'Ledger records, newest first (same filters as /usage, plus requestId); page with before=<next>',
  })
  records(
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(UsageRecordsQueryDto)) query: UsageRecordsQuery,
  ) {
    return this.reports.records(request, query);
  }

  @Get('usage/ledger')
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: "This replica's ledger writer: buffered, spilled, written and dropped records" })
  ledger() {
    return this.reports.ledgerStatus();
  }

  @Get('chargeback')
  @RequirePermission('billing.read')
  @ApiOperation({
    summary:
      'Chargeback per team (lines per endpoint and model) for a period (default: this UTC month); format=json|csv',
  })
  async chargeback(
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(ChargebackQueryDto)) query: ChargebackQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const report = await this.reports.chargeback(request, query);
    if (report.csv !== undefined) {
      await reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${report.filename}"`)
        .send(report.csv);
      return;
    }
    await reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(report.json));
  }
}
