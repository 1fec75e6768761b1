import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from 'src/common/auth/auth.decorators';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { RegistryHealthIndicator } from 'src/modules/registry/registry.health';

@ApiTags('Operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly registry: RegistryHealthIndicator,
  ) {}

  @Get('health')
  @ApiOperation({ summary: "MLflow gateway's health check" })
  mlflowHealth(): { status: 'OK' } {
    return { status: 'OK' };
  }

  @Get('health/live')
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: the database answers' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 2000 }),
      // Never fails readiness: an unreachable registry reports `state: degraded` (last snapshot serves).
      () => this.registry.check('registry'),
    ]);
  }
}
