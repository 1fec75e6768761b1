import { Controller, Get, Header } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { prometheusContentType } from 'prom-client';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';

@ApiTags('Operations')
@ApiBearerAuth()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** A scraper holding METRICS_TOKEN is answered before this handler (see MetricsHttpHook). */
  @Get('metrics')
  @RequirePermission('metrics.read')
  @Header('content-type', prometheusContentType)
  @Header('cache-control', 'no-store')
  @ApiProduces(prometheusContentType)
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition)',
    description: 'Bearer METRICS_TOKEN, or a principal with `metrics.read` (operator, admin).',
  })
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
