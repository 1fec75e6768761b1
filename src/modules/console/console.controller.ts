import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from 'src/common/auth/auth.decorators';
import { ConsoleService } from 'src/modules/console/console.service';
import { CONSOLE_CONFIG_VIEW, ConsoleConfigDto } from 'src/modules/console/dto/console-config.dto';

@ApiTags('Console')
@Controller('admin/v1/console')
export class ConsoleController {
  constructor(private readonly console: ConsoleService) {}

  /** Public: the console reads it before anyone has signed in; it holds only public identifiers. */
  @Get('config')
  @Public()
  @Header('cache-control', 'no-cache')
  @ApiOperation({ summary: "The web console's sign-in settings (OIDC issuer, public client id, scopes)" })
  @ApiOkResponse({ schema: CONSOLE_CONFIG_VIEW })
  config(): ConsoleConfigDto {
    return this.console.settings();
  }
}
