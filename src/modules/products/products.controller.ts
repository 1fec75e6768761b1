import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { schemaOf } from 'src/common/validation/openapi-schema';
import { ZodPipe } from 'src/common/validation/zod.pipe';
import {
  CreateProduct,
  CreateProductDto,
  DeprecateProduct,
  DeprecateProductDto,
  PRODUCT_VIEW,
  REVISION_VIEW,
  SubscribeProduct,
  SubscribeProductDto,
} from 'src/modules/products/dto/products.dto';
import { ProductsService } from 'src/modules/products/products.service';
import { SUBSCRIPTION_VIEW } from 'src/modules/auth/dto/admin.views';

/** Managing API products: the routing permissions and the ownership model (TenancyPolicy). */
@ApiTags('Admin: API products')
@ApiBearerAuth()
@Controller('admin/v1/products')
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Get()
  @RequirePermission('routing.read')
  @ApiOperation({ summary: "API products you may manage or inspect (your team's and global ones)" })
  @ApiOkResponse({ schema: { type: 'array', items: PRODUCT_VIEW } })
  list(@Req() request: FastifyRequest) {
    return this.products.list(request);
  }

  @Post()
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Offer an endpoint or traffic route as an API product (starts as a draft)' })
  @ApiBody({ schema: schemaOf(CreateProductDto) })
  @ApiCreatedResponse({ schema: PRODUCT_VIEW })
  create(@Req() request: FastifyRequest, @Body(new ZodPipe(CreateProductDto)) dto: CreateProduct) {
    return this.products.create(request, dto);
  }

  @Get(':name/revisions')
  @RequirePermission('routing.read')
  @ApiOperation({ summary: "A product's revisions, newest first (who moved it to which state, when)" })
  @ApiOkResponse({ schema: { type: 'array', items: REVISION_VIEW } })
  revisions(@Req() request: FastifyRequest, @Param('name') name: string) {
    return this.products.revisions(request, name);
  }

  @Post(':name/publish')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: 'Publish a draft (or un-deprecate): listed in the portal, open to subscriptions' })
  @ApiOkResponse({ schema: PRODUCT_VIEW })
  publish(@Req() request: FastifyRequest, @Param('name') name: string) {
    return this.products.publish(request, name);
  }

  @Post(':name/deprecate')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({
    summary: 'Deprecate: still served, with Deprecation and Sunset headers; refused (410) after the sunset',
  })
  @ApiBody({ schema: schemaOf(DeprecateProductDto) })
  @ApiOkResponse({ schema: PRODUCT_VIEW })
  deprecate(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body(new ZodPipe(DeprecateProductDto)) dto: DeprecateProduct,
  ) {
    return this.products.deprecate(request, name, dto);
  }

  @Post(':name/retire')
  @HttpCode(200)
  @RequirePermission('routing.write')
  @ApiOperation({ summary: "Retire: calls answer 410 and the grants of the product's subscriptions lapse" })
  @ApiOkResponse({ schema: PRODUCT_VIEW })
  retire(@Req() request: FastifyRequest, @Param('name') name: string) {
    return this.products.retire(request, name);
  }
}

/** The developer portal's view: every signed-in principal reads the catalogue and may ask for access. */
@ApiTags('Developer portal')
@ApiBearerAuth()
@Controller('admin/v1/catalogue')
export class CatalogueController {
  constructor(private readonly products: ProductsService) {}

  @Get()
  @RequirePermission('self.read')
  @ApiOperation({ summary: "Published and deprecated API products (and your team's drafts)" })
  @ApiOkResponse({ schema: { type: 'array', items: PRODUCT_VIEW } })
  list(@Req() request: FastifyRequest) {
    return this.products.catalogue(request);
  }

  @Get(':name')
  @RequirePermission('self.read')
  @ApiOperation({ summary: 'One API product of the catalogue' })
  @ApiOkResponse({ schema: PRODUCT_VIEW })
  get(@Req() request: FastifyRequest, @Param('name') name: string) {
    return this.products.get(request, name);
  }

  @Get(':name/openapi.json')
  @RequirePermission('self.read')
  @ApiOperation({ summary: 'The OpenAPI document of this product alone' })
  @ApiOkResponse({ schema: { type: 'object', additionalProperties: true } })
  openApi(@Req() request: FastifyRequest, @Param('name') name: string) {
    return this.products.openApi(request, name);
  }

  @Post(':name/subscriptions')
  @RequirePermission('subscriptions.request')
  @ApiOperation({ summary: 'Ask for access to a published product; pending until an admin approves' })
  @ApiBody({ schema: schemaOf(SubscribeProductDto), required: false })
  @ApiCreatedResponse({ schema: SUBSCRIPTION_VIEW })
  subscribe(
    @Req() request: FastifyRequest,
    @Param('name') name: string,
    @Body(new ZodPipe(SubscribeProductDto)) dto: SubscribeProduct,
  ) {
    return this.products.subscribe(request, name, dto);
  }
}
