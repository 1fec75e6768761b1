import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { ConfigModule } from 'src/config/config.module';
import { AppConfig } from 'src/config/env.config';
import { DatabaseModule } from 'src/infra/database/database.module';
import { HealthModule } from 'src/modules/health/health.module';
import { InferenceModule } from 'src/modules/inference/inference.module';
import { PromptsModule } from 'src/modules/prompts/prompts.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        EventEmitterModule.forRoot(),
        DatabaseModule,
        HealthModule,
        InferenceModule,
        PromptsModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
