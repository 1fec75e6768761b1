import { Controller, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvocationContext, InvocationResult } from 'src/modules/pipeline/invocation-context';
import { InvocationDispatcher } from 'src/modules/pipeline/invocation-dispatcher';
import { Invocation } from 'src/modules/pipeline/invocation.decorator';
import { Ctx } from 'src/modules/pipeline/invocation-param.decorator';

/** Custom public paths of predict endpoints (`gatehouse.path`, always under /predict/). */
@ApiTags('Model serving')
@Controller('predict')
export class PredictController {
  constructor(private readonly dispatcher: InvocationDispatcher) {}

  @Post('*')
  @Invocation({ surface: 'predict', name: 'predict-path' })
  @ApiOperation({ summary: 'Score with the MLflow scoring protocol on an endpoint’s custom path' })
  predict(@Ctx() ctx: InvocationContext): Promise<InvocationResult> {
    return this.dispatcher.dispatch(ctx);
  }
}
