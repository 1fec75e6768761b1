import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { GRANT_VIEW, SUBSCRIPTION_VIEW } from 'src/modules/auth/dto/admin.views';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import {
  CreateGrantDto,
  DecideSubscriptionDto,
  RequestSubscriptionDto,
} from 'src/modules/auth/dto/admin.dto';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import { GrantsService } from 'src/modules/auth/grants.service';
import { SubscriptionsService } from 'src/modules/auth/subscriptions.service';

const id = new ParseUUIDPipe();
// The whole query object: a lone optional parameter reached the pipe as {} when absent (and was refused).
const ListSubscriptionsQuery = z.strictObject({
  status: z.enum(['pending', 'approved', 'rejected']).optional(),
});

@ApiTags('Admin: access')
@ApiBearerAuth()
@Controller('admin/v1')
export class AccessAdminController {
  constructor(
    private readonly grants: GrantsService,
    private readonly subscriptions: SubscriptionsService,
  ) {}

  @Post('grants')
  @RequirePermission('grants.write')
  @ApiOperation({ summary: 'Let a team or a principal call endpoints matching a pattern' })
  @ApiBody({ schema: schemaOf(CreateGrantDto) })
  createGrant(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(CreateGrantDto)) dto: z.infer<typeof CreateGrantDto>,
  ) {
    return this.grants.create(request, dto);
  }

  @Get('grants')
  @RequirePermission('grants.read')
  @ApiOperation({ summary: 'List access grants (of your team unless you are an admin)' })
  @ApiOkResponse({ schema: { type: 'array', items: GRANT_VIEW } })
  listGrants(@Req() request: FastifyRequest) {
    return this.grants.list(request);
  }

  @Delete('grants/:id')
  @HttpCode(204)
  @RequirePermission('grants.write')
  @ApiOperation({ summary: 'Remove an access grant' })
  deleteGrant(@Req() request: FastifyRequest, @Param('id', id) grantId: string) {
    return this.grants.remove(request, grantId);
  }

  @Post('subscriptions')
  @RequirePermission('subscriptions.request')
  @ApiOperation({ summary: 'Ask for access to endpoints; pending until an admin decides' })
  @ApiBody({ schema: schemaOf(RequestSubscriptionDto) })
  @ApiCreatedResponse({ schema: SUBSCRIPTION_VIEW })
  requestSubscription(
    @Req() request: FastifyRequest,
    @Body(new ZodPipe(RequestSubscriptionDto)) dto: z.infer<typeof RequestSubscriptionDto>,
  ) {
    return this.subscriptions.request(request, dto);
  }

  @Get('subscriptions')
  @RequirePermission('subscriptions.read')
  @ApiOperation({ summary: 'List subscription requests (of your team unless you are an admin)' })
  @ApiQuery({ name: 'status', required: false, enum: ['pending', 'approved', 'rejected'] })
  @ApiOkResponse({ schema: { type: 'array', items: SUBSCRIPTION_VIEW } })
  listSubscriptions(
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(ListSubscriptionsQuery)) query: z.infer<typeof ListSubscriptionsQuery>,
  ) {
    return this.subscriptions.list(request, query.status);
  }

  @Get('subscriptions/:id')
  @RequirePermission('subscriptions.read')
  @ApiOperation({ summary: 'Get a subscription request' })
  getSubscription(@Req() request: FastifyRequest, @Param('id', id) subscriptionId: string) {
    return this.subscriptions.get(request, subscriptionId);
  }

  @Post('subscriptions/:id/approve')
  @HttpCode(200)
  @RequirePermission('subscriptions.decide')
  @ApiOperation({ summary: 'Approve a pending request: creates the access grant' })
  @ApiOkResponse({ schema: SUBSCRIPTION_VIEW })
  @ApiBody({ schema: schemaOf(DecideSubscriptionDto), required: false })
  approve(
    @Req() request: FastifyRequest,
    @Param('id', id) subscriptionId: string,
    @Body(new ZodPipe(DecideSubscriptionDto)) dto: z.infer<typeof DecideSubscriptionDto>,
  ) {
    return this.subscriptions.approve(request, subscriptionId, dto);
  }

  @Post('subscriptions/:id/reject')
  @HttpCode(200)
  @RequirePermission('subscriptions.decide')
  @ApiOperation({ summary: 'Reject a pending request' })
  @ApiOkResponse({ schema: SUBSCRIPTION_VIEW })
  @ApiBody({ schema: schemaOf(DecideSubscriptionDto), required: false })
  reject(
    @Req() request: FastifyRequest,
    @Param('id', id) subscriptionId: string,
    @Body(new ZodPipe(DecideSubscriptionDto)) dto: z.infer<typeof DecideSubscriptionDto>,
  ) {
    return this.subscriptions.reject(request, subscriptionId, dto);
  }
}
