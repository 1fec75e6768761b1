import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
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
  UsageSeriesQuery,
  UsageSeriesQueryDto,
  SERIES_GROUP_BYS,
} from 'src/modules/billing/dto/usage-query.dto';
import { UsageReportService } from 'src/modules/billing/usage-report.service';

const SERIES_POINT = {
  type: 'object',
  required: [
    'bucket',
    'requests',
    'errors',
    'clientErrors',
    'serverErrors',
    'p50LatencyMs',
    'p95LatencyMs',
    'totalTokens',
    'costUsd',
  ],
  properties: {
    bucket: { type: 'integer', description: 'Start of the bucket, Unix seconds' },
    requests: { type: 'number' },
    errors: { type: 'number' },
    clientErrors: { type: 'number', description: 'Answers with a 4xx status' },
    serverErrors: { type: 'number', description: 'Answers with a 5xx status' },
    p50LatencyMs: { type: 'number', nullable: true },
    p95LatencyMs: { type: 'number', nullable: true },
    totalTokens: { type: 'number' },
    costUsd: { type: 'number' },
  },
};

const USAGE_SERIES_VIEW = {
  type: 'object',
  required: ['from', 'to', 'bucket', 'bucketSeconds', 'points'],
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    bucket: { type: 'string', enum: ['minute', 'hour', 'day'] },
    bucketSeconds: { type: 'integer' },
    points: { type: 'array', items: SERIES_POINT, description: 'All traffic in scope' },
    groupBy: { type: 'string', enum: [...SERIES_GROUP_BYS] },
    series: {
      type: 'array',
      description: 'With groupBy: the top groups by requests, then "other" (the rest summed)',
      items: {
        type: 'object',
        required: ['key', 'label', 'other', 'requests', 'points'],
        properties: {
          key: { type: 'string', nullable: true, description: 'The group value (null: none, or "other")' },
          label: { type: 'string' },
          other: { type: 'boolean' },
          requests: { type: 'number' },
          points: { type: 'array', items: SERIES_POINT },
        },
      },
    },
  },
};

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

  @Get('usage/timeseries')
  @RequirePermission('billing.read')
  @ApiOperation({
    summary:
      'Requests, errors (4xx/5xx), p50/p95 latency, tokens and cost per minute|hour|day bucket over a period ' +
      '(same filters as /usage; empty buckets included), optionally one series per endpoint|team|model|' +
      'provider|prompt (groupBy; the top `top` groups, default 5, plus "other"). Hour and day buckets read ' +
      'the hourly roll-up (p50/p95 estimated within ±4.4%). Without billing.admin: own team only.',
  })
  @ApiQuery({ name: 'from', required: false, type: String })
  @ApiQuery({ name: 'to', required: false, type: String })
  @ApiQuery({ name: 'bucket', required: false, enum: ['minute', 'hour', 'day'] })
  @ApiQuery({ name: 'endpoint', required: false, type: String })
  @ApiQuery({ name: 'teamId', required: false, type: String })
  @ApiQuery({ name: 'groupBy', required: false, enum: SERIES_GROUP_BYS })
  @ApiQuery({ name: 'top', required: false, type: Number })
  @ApiOkResponse({ schema: USAGE_SERIES_VIEW })
  timeseries(
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(UsageSeriesQueryDto)) query: UsageSeriesQuery,
  ) {
    return this.reports.series(request, query);
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
