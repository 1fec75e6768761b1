import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { SecretsController } from 'src/modules/secrets/secrets.controller';
import { SecretsRepository } from 'src/modules/secrets/secrets.repository';
import { SecretsService } from 'src/modules/secrets/secrets.service';

@Module({
  imports: [AuditModule, AuthModule],
  controllers: [SecretsController],
  providers: [SecretsRepository, SecretsService],
  exports: [SecretsService],
})
export class SecretsModule {}
