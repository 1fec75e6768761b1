import { Controller, Delete, Get, Param, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { principalOf } from 'src/common/auth/principal';
import type { Item } from 'src/modules/responses/response-items';
import {
  DeletedResponse,
  InputItemList,
  InputItemsQuery,
  StoredResponsesService,
} from 'src/modules/responses/stored-responses.service';

/**
 * Stored OpenAI Responses (`client.responses.retrieve`, `.delete`, `.inputItems.list`), the caller's own
 * (team-scoped): anyone else's id answers 404 like a missing one. Also at MLflow 3's OpenAI passthrough.
 */
@ApiTags('OpenAI-compatible')
@Controller()
export class StoredResponsesController {
  constructor(private readonly responses: StoredResponsesService) {}

  @Get('v1/responses/:id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'Retrieve a stored response' })
  get(@Req() request: FastifyRequest, @Param('id') id: string): Promise<Item> {
    return this.responses.get(principalOf(request), id);
  }

  @Get('gateway/openai/v1/responses/:id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "Retrieve a stored response at MLflow 3's passthrough path" })
  passthroughGet(@Req() request: FastifyRequest, @Param('id') id: string): Promise<Item> {
    return this.responses.get(principalOf(request), id);
  }

  @Delete('v1/responses/:id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: 'Delete a stored response' })
  delete(@Req() request: FastifyRequest, @Param('id') id: string): Promise<DeletedResponse> {
    return this.responses.delete(principalOf(request), id);
  }

  @Delete('gateway/openai/v1/responses/:id')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "Delete a stored response at MLflow 3's passthrough path" })
  passthroughDelete(@Req() request: FastifyRequest, @Param('id') id: string): Promise<DeletedResponse> {
    return this.responses.delete(principalOf(request), id);
  }

  @Get('v1/responses/:id/input_items')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "List the input items a stored response was generated from (earlier turns' too)" })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'after', required: false })
  inputItems(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Query() query: InputItemsQuery,
  ): Promise<InputItemList> {
    return this.responses.inputItems(principalOf(request), id, query);
  }

  @Get('gateway/openai/v1/responses/:id/input_items')
  @RequirePermission('inference.invoke')
  @ApiOperation({ summary: "List a stored response's input items at MLflow 3's passthrough path" })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'after', required: false })
  passthroughInputItems(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Query() query: InputItemsQuery,
  ): Promise<InputItemList> {
    return this.responses.inputItems(principalOf(request), id, query);
  }
}
