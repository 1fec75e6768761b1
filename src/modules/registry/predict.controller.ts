import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { ModelServingService } from 'src/modules/registry/model-serving.service';

/** Custom public paths of predict endpoints (`gatehouse.path`, always under /predict/). */
@ApiTags('Model serving')
@Controller('predict')
export class PredictController {
  constructor(private readonly serving: ModelServingService) {}

  @Post('*')
  @HttpCode(200)
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'Score with the MLflow scoring protocol on an endpoint’s custom path' })
  predict(@Req() request: FastifyRequest, @Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.serving.predictByPath(request.url, body, reply);
  }
}
