import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { StoredResponseEntity } from 'src/modules/responses/entities/stored-response.entity';
import { StoredResponseRepository } from 'src/modules/responses/stored-response.repository';
import { StoredResponsesController } from 'src/modules/responses/stored-responses.controller';
import { StoredResponsesService } from 'src/modules/responses/stored-responses.service';

/** Stored OpenAI Responses: retrieval, deletion, input items, and what `previous_response_id` continues. */
@Module({
  imports: [TypeOrmModule.forFeature([StoredResponseEntity])],
  controllers: [StoredResponsesController],
  providers: [StoredResponseRepository, StoredResponsesService],
  exports: [StoredResponsesService],
})
export class ResponsesModule {}
