import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
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
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Actor, AdminActor } from 'src/common/auth/admin-actor';
import { actorOf } from 'src/modules/auth/actor';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import {
  BUDGET_STATUS_VIEW,
  BUDGET_VIEW,
  BudgetDto,
  LIMIT_USAGE_VIEW,
  LIMIT_VIEW,
  LimitRuleDto,
  PriceDto,
  StatusQuery,
  UsageQuery,
} from 'src/modules/limits/dto/limits.dto';
import { LimitsAdminService } from 'src/modules/limits/limits-admin.service';

const id = new ParseUUIDPipe();

@ApiTags('Admin: limits')
@ApiBearerAuth()
@Controller('admin/v1/limits')
export class LimitsAdminController {
  constructor(private readonly admin: LimitsAdminService) {}

  @Get()
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Rate limits and concurrency caps: admin-set ones, then those from gateway.yaml' })
  @ApiOkResponse({ schema: { type: 'array', items: LIMIT_VIEW } })
  list(@Req() request: FastifyRequest) {
    return this.admin.listLimits(actorOf(request));
  }

  @Get('usage')
  @RequirePermission('billing.read')
  @ApiOperation({
    summary:
      "Each limit's live counter: used in the current window and when it resets (your team's limits unless you hold tenancy.all)",
  })
  @ApiQuery({ name: 'limit_id', required: false })
  @ApiQuery({
    name: 'subject',
    required: false,
    description: 'with limit_id: the key, principal, team or endpoint whose counter to read',
  })
  @ApiOkResponse({ schema: { type: 'array', items: LIMIT_USAGE_VIEW } })
  usage(@Req() request: FastifyRequest, @Query(new ZodPipe(UsageQuery)) query: z.infer<typeof UsageQuery>) {
    return this.admin.limitUsage(actorOf(request), query);
  }

  @Post()
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Add a limit (applies on every replica within a second)' })
  @ApiCreatedResponse({ schema: LIMIT_VIEW })
  @ApiBody({ schema: schemaOf(LimitRuleDto) })
  create(@Actor() actor: AdminActor, @Body(new ZodPipe(LimitRuleDto)) body: z.infer<typeof LimitRuleDto>) {
    return this.admin.createLimit(body, actor);
  }

  @Get(':id')
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'One admin-set limit' })
  @ApiOkResponse({ schema: LIMIT_VIEW })
  get(@Req() request: FastifyRequest, @Param('id', id) limitId: string) {
    return this.admin.getLimit(limitId, actorOf(request));
  }

  @Put(':id')
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Replace a limit (its counters carry on)' })
  @ApiOkResponse({ schema: LIMIT_VIEW })
  @ApiBody({ schema: schemaOf(LimitRuleDto) })
  update(
    @Actor() actor: AdminActor,
    @Param('id', id) limitId: string,
    @Body(new ZodPipe(LimitRuleDto)) body: z.infer<typeof LimitRuleDto>,
  ) {
    return this.admin.updateLimit(limitId, body, actor);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Remove a limit' })
  async remove(@Actor() actor: AdminActor, @Param('id', id) limitId: string): Promise<void> {
    await this.admin.deleteLimit(limitId, actor);
  }
}

@ApiTags('Admin: budgets')
@ApiBearerAuth()
@Controller('admin/v1/budgets')
export class BudgetsAdminController {
  constructor(private readonly admin: LimitsAdminService) {}

  @Get()
  @RequirePermission('billing.read')
  @ApiOperation({ summary: 'USD budgets' })
  @ApiOkResponse({ schema: { type: 'array', items: BUDGET_VIEW } })
  list(@Req() request: FastifyRequest) {
    return this.admin.listBudgets(actorOf(request));
  }

  @Post()
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Add a budget: hard (refuse) or soft (alert), daily/weekly/monthly in UTC' })
  @ApiCreatedResponse({ schema: BUDGET_VIEW })
  @ApiBody({ schema: schemaOf(BudgetDto) })
  create(@Actor() actor: AdminActor, @Body(new ZodPipe(BudgetDto)) body: z.infer<typeof BudgetDto>) {
    return this.admin.saveBudget(body, actor);
  }

  @Get('status')
  @RequirePermission('billing.read')
  @ApiOperation({ summary: 'Spent, reserved, remaining and reset time of every single-counter budget' })
  @ApiOkResponse({ schema: { type: 'array', items: BUDGET_STATUS_VIEW } })
  allStatus(@Req() request: FastifyRequest) {
    return this.admin.allStatus(actorOf(request));
  }

  @Get(':id')
  @RequirePermission('billing.read')
  @ApiOperation({ summary: 'One budget' })
  @ApiOkResponse({ schema: BUDGET_VIEW })
  get(@Req() request: FastifyRequest, @Param('id', id) budgetId: string) {
    return this.admin.getBudget(budgetId, actorOf(request));
  }

  @Get(':id/status')
  @RequirePermission('billing.read')
  @ApiOperation({
    summary: "A budget's spent, reserved, remaining and resets_at (per-subject budgets: ?subject=)",
  })
  @ApiQuery({ name: 'subject', required: false })
  @ApiOkResponse({ schema: BUDGET_STATUS_VIEW })
  status(
    @Req() request: FastifyRequest,
    @Param('id', id) budgetId: string,
    @Query(new ZodPipe(StatusQuery)) query: z.infer<typeof StatusQuery>,
  ) {
    return this.admin.budgetStatus(budgetId, query.subject, actorOf(request));
  }

  @Put(':id')
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Replace a budget (spend so far in the period is kept)' })
  @ApiOkResponse({ schema: BUDGET_VIEW })
  @ApiBody({ schema: schemaOf(BudgetDto) })
  update(
    @Actor() actor: AdminActor,
    @Param('id', id) budgetId: string,
    @Body(new ZodPipe(BudgetDto)) body: z.infer<typeof BudgetDto>,
  ) {
    return this.admin.saveBudget(body, actor, budgetId);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Remove a budget' })
  async remove(@Actor() actor: AdminActor, @Param('id', id) budgetId: string): Promise<void> {
    await this.admin.deleteBudget(budgetId, actor);
  }
}

@ApiTags('Admin: prices')
@ApiBearerAuth()
@Controller('admin/v1/prices')
export class PricesAdminController {
  constructor(private readonly admin: LimitsAdminService) {}

  @Get()
  @RequirePermission('billing.read')
  @ApiOperation({ summary: 'Built-in default prices (dated) and admin price versions' })
  list() {
    return this.admin.listPrices();
  }

  @Post()
  @RequirePermission('billing.admin')
  @ApiOperation({
    summary: 'Add a price version for a provider/model from an effective date (USD per million tokens)',
  })
  @ApiBody({ schema: schemaOf(PriceDto) })
  create(@Actor() actor: AdminActor, @Body(new ZodPipe(PriceDto)) body: z.infer<typeof PriceDto>) {
    return this.admin.createPrice(body, actor);
  }

  @Get('effective')
  @RequirePermission('billing.read')
  @ApiOperation({ summary: 'The price in force for provider/model at a time (default now)' })
  @ApiQuery({ name: 'provider', required: true })
  @ApiQuery({ name: 'model', required: true })
  @ApiQuery({ name: 'at', required: false })
  effective(@Query('provider') provider?: string, @Query('model') model?: string, @Query('at') at?: string) {
    return this.admin.priceInForce(provider, model, at);
  }

  @Get(':id')
  @RequirePermission('billing.read')
  @ApiOperation({ summary: 'One price version' })
  get(@Param('id', id) priceId: string) {
    return this.admin.getPrice(priceId);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('billing.admin')
  @ApiOperation({ summary: 'Remove a price version' })
  async remove(@Actor() actor: AdminActor, @Param('id', id) priceId: string): Promise<void> {
    await this.admin.deletePrice(priceId, actor);
  }
}
