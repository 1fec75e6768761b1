import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from 'src/modules/health/health.controller';
import { RegistryModule } from 'src/modules/registry/registry.module';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), RegistryModule],
  controllers: [HealthController],
})
export class HealthModule {}
