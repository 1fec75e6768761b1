import { Module } from '@nestjs/common';
import { ConsoleController } from 'src/modules/console/console.controller';
import { ConsoleService } from 'src/modules/console/console.service';

/** The web console's own API: its public sign-in settings (the SPA's files are served by console-assets). */
@Module({
  controllers: [ConsoleController],
  providers: [ConsoleService],
})
export class ConsoleModule {}
