import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { prometheusContentType } from 'prom-client';
import { Public } from 'src/common/auth/auth.decorators';
import { MetricsAccessGuard } from 'src/modules/observability/metrics/metrics-access.guard';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';

@ApiTags('Operations')
@ApiBearerAuth()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Public to the default guards: MetricsAccessGuard admits METRICS_TOKEN or `metrics.read`. */
  @Get('metrics')
  @Public()
  @UseGuards(MetricsAccessGuard)
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
