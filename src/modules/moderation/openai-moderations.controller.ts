import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { OpenAIModerationResponseDto } from 'src/modules/moderation/dto/moderation.dto';
import { OpenAIModerationsService } from 'src/modules/moderation/openai-moderations.service';

@ApiTags('OpenAI-compatible')
@Controller('v1')
export class OpenAIModerationsController {
  constructor(private readonly moderations: OpenAIModerationsService) {}

  @Post('moderations')
  @HttpCode(200)
  @RequirePermission('inference.invoke')
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
