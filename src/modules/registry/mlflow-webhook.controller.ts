import { Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { Public } from 'src/common/auth/auth.decorators';
import { RegistryAdminService, WebhookAck } from 'src/modules/registry/registry-admin.service';

/** MLflow registry webhooks (MLflow ≥ 3.3). Public, but every delivery must carry a valid HMAC signature. */
@ApiTags('Registry')
@Controller('webhooks')
export class MlflowWebhookController {
  constructor(private readonly admin: RegistryAdminService) {}

  @Post('mlflow')
  @HttpCode(200)
  @Public()
  @ApiOperation({ summary: 'MLflow registry webhook (HMAC-signed with X-MLflow-Signature); triggers a sync' })
  receive(
    @Headers() headers: Record<string, string | string[] | undefined>,
    @Req() request: FastifyRequest,
    @Body() body: unknown,
  ): Promise<WebhookAck> {
    return this.admin.webhook(headers, request.rawBody, body);
  }
}
