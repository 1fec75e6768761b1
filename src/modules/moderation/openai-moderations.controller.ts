import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { RateLimitedAs, RequestRateGuard } from 'src/modules/limits/request-rate.guard';
import { OpenAIModerationResponseDto } from 'src/modules/moderation/dto/moderation.dto';
import {
  MODERATIONS_LIMIT_ENDPOINT,
  OpenAIModerationsService,
} from 'src/modules/moderation/openai-moderations.service';

@ApiTags('OpenAI-compatible')
@Controller('v1')
export class OpenAIModerationsController {
  constructor(private readonly moderations: OpenAIModerationsService) {}

  @Post('moderations')
  @HttpCode(200)
  @RequirePermission('inference.invoke')
  @RateLimitedAs(MODERATIONS_LIMIT_ENDPOINT)
  @UseGuards(RequestRateGuard)
  @ApiOperation({ summary: "Classify text with Gatehouse's built-in guardrails (OpenAI moderation shape)" })
  moderate(
    @Body() body: Record<string, unknown>,
    @Req() request: FastifyRequest,
  ): Promise<OpenAIModerationResponseDto> {
    return this.moderations.moderate(body ?? {}, {
      requestId: String(request.id),
      principal: request.principal,
    });
  }
}
