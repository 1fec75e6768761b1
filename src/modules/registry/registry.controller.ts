import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import {
  RegistryModelListDto,
  RegistryVersionListDto,
  SyncStatusDto,
} from 'src/modules/registry/dto/registry.dto';
import { RegistryAdminService } from 'src/modules/registry/registry-admin.service';

@ApiTags('Admin: model registry')
@ApiBearerAuth()
@Controller('admin/v1/registry')
export class RegistryController {
  constructor(private readonly admin: RegistryAdminService) {}

  @Get('models')
  @RequirePermission('registry.read')
  @ApiOperation({ summary: 'Registered models in the last synced snapshot, with the endpoints serving them' })
  @ApiOkResponse({ type: RegistryModelListDto })
  models(): RegistryModelListDto {
    return this.admin.listModels();
  }

  @Get('models/:name/versions')
  @RequirePermission('registry.read')
  @ApiOperation({ summary: "A model's versions with aliases, tags and the endpoints routing to each" })
  @ApiOkResponse({ type: RegistryVersionListDto })
  versions(@Param('name') name: string): RegistryVersionListDto {
    return this.admin.listVersions(name);
  }

  @Post('sync')
  @HttpCode(200)
  @RequirePermission('registry.sync')
  @ApiOperation({
    summary: 'Sync the registry now (502 when MLflow cannot be read; the last snapshot keeps serving)',
  })
  @ApiOkResponse({ type: SyncStatusDto })
  sync(@Actor() actor: AdminActor): Promise<SyncStatusDto> {
    return this.admin.sync(actor);
  }
}
