import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import { SecretsService } from 'src/modules/secrets/secrets.service';

const SecretName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits and _ . - only (at most 128)');
const PutSecretDto = z.strictObject({
  value: z.string().min(1).max(16_384),
  /** Owning team (admins only may choose another team, or null for a global, admin-owned secret). */
  ownerTeamId: z.uuid().nullable().optional(),
  /** Other teams whose admin-API configuration may reference the secret. */
  allowedTeamIds: z.array(z.uuid()).max(100).optional(),
});

@ApiTags('Admin: provider secrets')
@ApiBearerAuth()
@Controller('admin/v1/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @RequirePermission('secrets.read')
  @ApiOperation({ summary: 'List stored provider secrets (names and key versions; never values)' })
  list(@Req() request: FastifyRequest) {
    return this.secrets.list(request);
  }

  @Put(':name')
  @RequirePermission('secrets.write')
  @ApiOperation({
    summary:
      'Store or replace a provider secret, encrypted; reference it as $secret:NAME (gateway.yaml, or admin-API config of its owner and allowed teams)',
  })
  @ApiBody({ schema: schemaOf(PutSecretDto) })
  put(
    @Req() request: FastifyRequest,
    @Param('name', new ZodPipe(SecretName)) name: string,
    @Body(new ZodPipe(PutSecretDto)) dto: z.infer<typeof PutSecretDto>,
  ) {
    return this.secrets.put(request, name, dto);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('secrets.write')
  @ApiOperation({ summary: 'Delete a provider secret' })
  remove(@Req() request: FastifyRequest, @Param('name', new ZodPipe(SecretName)) name: string) {
    return this.secrets.remove(request, name);
  }

  @Post('reencrypt')
  @HttpCode(200)
  @RequirePermission('secrets.write')
  @ApiOperation({ summary: 'Re-encrypt every secret under the current master key version' })
  reencrypt(@Req() request: FastifyRequest) {
    return this.secrets.reencrypt(request);
  }
}
