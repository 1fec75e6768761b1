import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
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
  list(): PromptApiDto[] {
    return this.apis.list();
  }

  @Get(':name')
  @RequirePermission('prompts.read')
  @ApiOperation({ summary: 'One published prompt API' })
  get(@Param('name') name: string): PromptApiDto {
    return this.apis.get(name);
  }

  @Put(':name')
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Publish (or re-publish) a template + endpoint as POST /apis/{name}' })
  @ApiBody({ schema: PROMPT_API_WRITE_SCHEMA })
  publish(@Param('name') name: string, @Body() body: unknown): Promise<PromptApiDto> {
    return this.apis.publish(name, body);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('prompts.write')
  @ApiOperation({ summary: 'Unpublish a prompt API' })
  unpublish(@Param('name') name: string): Promise<void> {
    return this.apis.unpublish(name);
  }
}
