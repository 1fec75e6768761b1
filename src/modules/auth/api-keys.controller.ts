import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { API_KEY_VIEW, CREATED_KEY_VIEW } from 'src/modules/auth/dto/admin.views';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { ApiKeysService } from 'src/modules/auth/api-keys.service';
import { CreateApiKeyDto, RotateApiKeyDto } from 'src/modules/auth/dto/admin.dto';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';

const id = new ParseUUIDPipe();

/** `keys.self` opens these routes; the service decides whose keys the caller may touch. */
@ApiTags('Admin: API keys')
@ApiBearerAuth()
@Controller('admin/v1/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @RequirePermission('keys.self')
  @ApiOperation({ summary: 'Mint an API key (for yourself, or with keys.write for your team); shown once' })
  @ApiBody({ schema: schemaOf(CreateApiKeyDto) })
  @ApiCreatedResponse({ schema: CREATED_KEY_VIEW })
  create(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(CreateApiKeyDto)) dto: z.infer<typeof CreateApiKeyDto>,
  ) {
    return this.keys.create(request, dto);
  }

  @Get()
  @RequirePermission('keys.self')
  @ApiOperation({ summary: 'List API keys you may see (never their secret)' })
  @ApiOkResponse({ schema: { type: 'array', items: API_KEY_VIEW } })
  list(@Req() request: FastifyRequest) {
    return this.keys.list(request);
  }

  @Get(':id')
  @RequirePermission('keys.self')
  @ApiOperation({ summary: 'Get one API key' })
  get(@Req() request: FastifyRequest, @Param('id', id) keyId: string) {
    return this.keys.get(request, keyId);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @RequirePermission('keys.self')
  @ApiOperation({ summary: 'Revoke a key: every replica refuses it within a second' })
  @ApiOkResponse({ schema: API_KEY_VIEW })
  revoke(@Req() request: FastifyRequest, @Param('id', id) keyId: string) {
    return this.keys.revoke(request, keyId);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @RequirePermission('keys.self')
  @ApiOperation({
    summary: 'Replace a key with a new one of the same scope; the old one ends after the grace period',
  })
  @ApiBody({ schema: schemaOf(RotateApiKeyDto) })
  rotate(
    @Req() request: FastifyRequest,
    @Param('id', id) keyId: string,
    @Body(new ZodPipe(RotateApiKeyDto)) dto: z.infer<typeof RotateApiKeyDto>,
  ) {
    return this.keys.rotate(request, keyId, dto);
  }
}
