import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { uuid, ZodPipe } from 'src/common/validation/zod.pipe';
import { actorOf } from 'src/modules/auth/actor';
import {
  CreateRolloutInput,
  CreateRolloutSchema,
  ROLLOUT_VIEW,
  RolloutDto,
} from 'src/modules/rollouts/dto/rollout.dto';
import { RolloutsService } from 'src/modules/rollouts/rollouts.service';

@ApiTags('Admin: progressive rollouts')
@ApiBearerAuth()
@Controller('admin/v1/rollouts')
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Get()
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'Rollouts, newest first (state, step, live evaluation, history)' })
  @ApiOkResponse({ schema: { type: 'array', items: ROLLOUT_VIEW } })
  list(@Req() request: FastifyRequest): Promise<RolloutDto[]> {
    return this.rollouts.list(actorOf(request));
  }

  @Post()
  @RequirePermission('routing.write')
  @ApiOperation({
    summary: "Start a progressive rollout: move a route's traffic from baseline to canary step by step",
  })
  @ApiBody({ schema: schemaOf(CreateRolloutSchema) })
  @ApiOkResponse({ schema: ROLLOUT_VIEW })
  create(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(CreateRolloutSchema)) body: CreateRolloutInput,
  ): Promise<RolloutDto> {
    return this.rollouts.create(body, request);
  }

  @Get(':id')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: 'One rollout' })
  @ApiOkResponse({ schema: ROLLOUT_VIEW })
  get(@Req() request: FastifyRequest, @Param('id', new ZodPipe(uuid)) id: string): Promise<RolloutDto> {
    return this.rollouts.get(id, actorOf(request));
  }

  @Post(':id/pause')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Pause: weights stay, the rollout neither advances nor rolls back' })
  @ApiOkResponse({ schema: ROLLOUT_VIEW })
  pause(@Req() request: FastifyRequest, @Param('id', new ZodPipe(uuid)) id: string): Promise<RolloutDto> {
    return this.rollouts.control(id, 'pause', request);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Resume a paused rollout (the current step holds again from now)' })
  @ApiOkResponse({ schema: ROLLOUT_VIEW })
  resume(@Req() request: FastifyRequest, @Param('id', new ZodPipe(uuid)) id: string): Promise<RolloutDto> {
    return this.rollouts.control(id, 'resume', request);
  }

  @Post(':id/abort')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Abort: all traffic back to the baseline (a route revision)' })
  @ApiOkResponse({ schema: ROLLOUT_VIEW })
  abort(@Req() request: FastifyRequest, @Param('id', new ZodPipe(uuid)) id: string): Promise<RolloutDto> {
    return this.rollouts.control(id, 'abort', request);
  }
}
