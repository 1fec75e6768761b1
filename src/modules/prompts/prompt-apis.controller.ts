import { Body, Controller, Delete, Get, HttpCode, Param, Put, Req } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { actorOf } from 'src/modules/auth/actor';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { PROMPT_API_WRITE_SCHEMA, PromptApiDto } from 'src/modules/prompts/dto/prompt-response.dto';
import { PromptApiService } from 'src/modules/prompts/prompt-api.service';

@ApiTags('Admin: prompt APIs')
@Controller('admin/v1/prompt-apis')
export class PromptApisAdminController {
  constructor(private readonly apis: PromptApiService) {}

  @Get()
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'List published prompt APIs' })
  list(@Req() request: FastifyRequest): PromptApiDto[] {
    return this.apis.list(actorOf(request));
  }

  @Get(':name')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'One published prompt API' })
  get(@Req() request: FastifyRequest, @Param('name') name: string): PromptApiDto {
    return this.apis.get(name, actorOf(request));
  }

  @Put(':name')
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Publish (or re-publish) a template + endpoint as POST /apis/{name}' })
  @ApiBody({ schema: PROMPT_API_WRITE_SCHEMA })
  publish(
    @Actor() actor: AdminActor,
    @Param('name') name: string,
    @Body() body: unknown,
  ): Promise<PromptApiDto> {
    return this.apis.publish(name, body, actor);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Unpublish a prompt API' })
  unpublish(@Actor() actor: AdminActor, @Param('name') name: string): Promise<void> {
    return this.apis.unpublish(name, actor);
  }
}
