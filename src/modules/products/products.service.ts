import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { adminActorOf } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { AuditService } from 'src/modules/audit/audit.service';
import { GrantsService } from 'src/modules/auth/grants.service';
import { SubscriptionsService } from 'src/modules/auth/subscriptions.service';
import {
  CreateProduct,
  DeprecateProduct,
  ProductDto,
  ProductState,
  SubscribeProduct,
  toProductDto,
} from 'src/modules/products/dto/products.dto';
import { productOpenApi } from 'src/modules/products/product-openapi';
import { ProductStateHolder } from 'src/modules/products/product-state.holder';
import { ProductErrors } from 'src/modules/products/products.exception';
import { ProductRow, ProductsRepository } from 'src/modules/products/products.repository';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';

/** The lifecycle: each state and where it may go next. Retired is final. */
const NEXT: Record<ProductState, readonly ProductState[]> = {
  draft: ['published'],
  published: ['deprecated', 'retired'],
  deprecated: ['published', 'retired'],
  retired: [],
};

/** In the portal catalogue (for every signed-in principal). */
const LISTED: readonly ProductState[] = ['published', 'deprecated'];

/**
 * API products: an endpoint (or traffic route) offered in the developer portal, owned by a team (or
 * global), moved through draft → published → deprecated → retired. Every change is audited and kept as
 * a numbered revision; subscriptions go through the existing approval workflow, and retiring a product
 * lapses the grants its approved subscriptions produced.
 */
@Injectable()
export class ProductsService {
  constructor(
    private readonly repository: ProductsRepository,
    private readonly holder: ProductStateHolder,
    private readonly routes: RouteTableHolder,
    private readonly audit: AuditService,
    private readonly subscriptions: SubscriptionsService,
    private readonly grants: GrantsService,
  ) {}

  /** Products the caller may manage or inspect: its own team's and global ones (admins: all). */
  async list(request: FastifyRequest): Promise<ProductDto[]> {
    const actor = adminActorOf(request).principal;
    return TenancyPolicy.visible(actor, await this.repository.list(), (p) => p.teamId).map(dto);
  }

  /** The portal catalogue: published and deprecated products, plus the caller's team's drafts. */
  async catalogue(request: FastifyRequest): Promise<ProductDto[]> {
    const actor = adminActorOf(request).principal;
    return (await this.repository.list()).filter((p) => this.listedFor(actor, p)).map(dto);
  }

  async get(request: FastifyRequest, name: string): Promise<ProductDto> {
    return dto(await this.readable(adminActorOf(request).principal, name));
  }

  async openApi(request: FastifyRequest, name: string): Promise<Record<string, unknown>> {
    const product = await this.readable(adminActorOf(request).principal, name);
    return productOpenApi(dto(product), `${request.protocol}://${request.host}`);
  }

  async revisions(request: FastifyRequest, name: string) {
    const actor = adminActorOf(request).principal;
    const product = await this.repository.findByName(name);
    if (!product || !TenancyPolicy.canRead(actor, product.teamId)) throw ProductErrors.notFound();
    return this.repository.revisions(product.id);
  }

  async create(request: FastifyRequest, input: CreateProduct): Promise<ProductDto> {
    const actor = adminActorOf(request);
    const teamId = TenancyPolicy.ownerForNew(actor.principal, input.teamId);
    const table = this.routes.current;
    const entry = table.get(input.endpoint) ?? table.getModel(input.endpoint);
    if (!entry) throw ProductErrors.unknownEndpoint(input.endpoint);
    const created = await this.repository.transaction(async (m) => {
      const live = await this.repository.findLiveByEndpoint(input.endpoint, m);
      if (live) throw ProductErrors.endpointTaken(input.endpoint, live.name);
      const product = await this.repository.insert(
        {
          id: randomUUID(),
          name: input.name,
          title: input.title,
          description: input.description,
          teamId,
          endpoint: input.endpoint,
          endpointType: 'endpointType' in entry ? entry.endpointType : 'ml/v1/predict',
          limits: input.limits ?? null,
          pricePer1kTokensUsd: input.pricePer1kTokensUsd ?? null,
          createdBy: actor.principal.id,
        },
        m,
      );
      if (!product) throw ProductErrors.nameTaken(input.name);
      await this.repository.addRevision(product, 'create', actor.principal, m);
      await this.audit.changeBy(
        actor,
        {
          action: 'product.create',
          targetType: 'api_product',
          targetId: product.name,
          after: dto(product),
          teamId,
        },
        m,
      );
      return product;
    });
    return dto(created);
  }

  publish(request: FastifyRequest, name: string): Promise<ProductDto> {
    return this.move(request, name, 'published', {});
  }

  deprecate(request: FastifyRequest, name: string, input: DeprecateProduct): Promise<ProductDto> {
    const sunset = new Date(
      /^\d{4}-\d{2}-\d{2}$/.test(input.sunset) ? `${input.sunset}T00:00:00Z` : input.sunset,
    );
    if (sunset.getTime() <= Date.now()) throw ProductErrors.sunsetInPast();
    return this.move(request, name, 'deprecated', { sunsetAt: sunset, note: input.note ?? null });
  }

  /** Retires the product (410 from now on) and removes the grants its approved subscriptions created. */
  async retire(request: FastifyRequest, name: string): Promise<ProductDto> {
    const retired = await this.move(request, name, 'retired', {});
    const grantIds = await this.subscriptions.grantIdsOf(await this.repository.subscriptionIds(retired.id));
    // Each removal is audited (grant.delete) and refreshes every replica's access snapshot.
    // A grant an admin already removed by hand is gone: nothing left to lapse.
    for (const grantId of grantIds) {
      await this.grants.remove(request, grantId).catch((error: unknown) => {
        if (!(error instanceof GatewayException && error.status === 404)) throw error;
      });
    }
    return retired;
  }

  /** Files a subscription request for the product's endpoint (approved or rejected by an admin as usual). */
  async subscribe(request: FastifyRequest, name: string, input: SubscribeProduct) {
    const actor = adminActorOf(request).principal;
    const product = await this.repository.findByName(name);
    if (!product || !this.listedFor(actor, product)) throw ProductErrors.notFound();
    if (product.state !== 'published') throw ProductErrors.notSubscribable(product.state);
    const subscription = await this.subscriptions.request(request, {
      endpointPattern: product.endpoint,
      reason: input.reason ? `${product.name}: ${input.reason}` : `API product ${product.name}`,
    });
    await this.repository.linkSubscription(product.id, subscription.id);
    return subscription;
  }

  private async move(
    request: FastifyRequest,
    name: string,
    to: ProductState,
    change: { sunsetAt?: Date | null; note?: string | null },
  ): Promise<ProductDto> {
    const actor = adminActorOf(request);
    const moved = await this.repository.transaction(async (m) => {
      const before = await this.repository.findByName(name, m, true);
      if (!before) throw ProductErrors.notFound();
      TenancyPolicy.assertChange(actor.principal, before.teamId, 'API product');
      if (!NEXT[before.state].includes(to)) throw ProductErrors.transition(before.state, to);
      // Leaving deprecation (back to published) clears the announced sunset.
      const next =
        to === 'published' && before.state === 'deprecated' ? { sunsetAt: null, note: null } : change;
      const after = await this.repository.transition(before.id, before.state, { state: to, ...next }, m);
      if (!after) throw ProductErrors.transition(before.state, to);
      const action = { published: 'publish', deprecated: 'deprecate', retired: 'retire', draft: 'draft' }[to];
      await this.repository.addRevision(after, action, actor.principal, m);
      await this.audit.changeBy(
        actor,
        {
          action: `product.${action}`,
          targetType: 'api_product',
          targetId: after.name,
          before: dto(before),
          after: dto(after),
          teamId: after.teamId,
        },
        m,
      );
      return after;
    });
    await this.holder.reload();
    return dto(moved);
  }

  private async readable(actor: Principal, name: string): Promise<ProductRow> {
    const product = await this.repository.findByName(name);
    if (!product || !(this.listedFor(actor, product) || TenancyPolicy.canRead(actor, product.teamId))) {
      throw ProductErrors.notFound();
    }
    return product;
  }

  /** Drafts and retired products are seen by their owners (and admins) only. */
  private listedFor(actor: Principal, product: ProductRow): boolean {
    return LISTED.includes(product.state) || TenancyPolicy.canReadPrivate(actor, product.teamId);
  }
}

const dto = (p: ProductRow): ProductDto => toProductDto(p);
