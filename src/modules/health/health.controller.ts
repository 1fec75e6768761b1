import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from 'src/common/auth/auth.decorators';
import { AuthenticationGuard } from 'src/modules/auth/authentication.guard';
import { HealthService, Readiness } from 'src/modules/health/health.service';

@ApiTags('Operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly authentication: AuthenticationGuard,
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
  @ApiOperation({
    summary: 'Readiness: ok | degraded (200) or failing (503)',
    description:
      'Database (critical), Redis, MLflow registry freshness and upstream circuits. Component detail only ' +
      'for operators: Bearer METRICS_TOKEN or a principal with `metrics.read`.',
  })
  async ready(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Readiness> {
    const authorization = request.headers.authorization;
    const principal = await this.authentication.identify(request, reply);
    const readiness = await this.health.ready(this.health.isOperator(authorization, principal));
    void reply.status(readiness.status === 'failing' ? 503 : 200).header('cache-control', 'no-store');
    return readiness;
  }
}
