import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import {
  ProductDto,
  ProductRevisionDto,
  ProductState,
  toProductDto,
} from 'src/modules/products/dto/products.dto';

export interface ProductRow extends ProductDto {
  createdBy: string | null;
}

/** A product as created: its descriptive fields (state, revision and dates are the table's). */
export type NewProduct = Pick<
  ProductDto,
  | 'id'
  | 'name'
  | 'title'
  | 'description'
  | 'teamId'
  | 'endpoint'
  | 'endpointType'
  | 'limits'
  | 'pricePer1kTokensUsd'
> & { createdBy: string };

type Runner = DataSource | EntityManager;

/** The API products tables (api_products, api_product_revisions, api_product_subscriptions). */
@Injectable()
export class ProductsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async list(m: Runner = this.dataSource): Promise<ProductRow[]> {
    const rows: Record<string, unknown>[] = await m.query(`SELECT * FROM api_products ORDER BY name`);
    return rows.map(toProduct);
  }

  async findByName(name: string, m: Runner = this.dataSource, lock = false): Promise<ProductRow | undefined> {
    const rows: Record<string, unknown>[] = await m.query(
      `SELECT * FROM api_products WHERE name = $1${lock ? ' FOR UPDATE' : ''}`,
      [name],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  async findLiveByEndpoint(endpoint: string, m: Runner = this.dataSource): Promise<ProductRow | undefined> {
    const rows: Record<string, unknown>[] = await m.query(
      `SELECT * FROM api_products WHERE endpoint = $1 AND state <> 'retired' LIMIT 1`,
      [endpoint],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  /** Inserts the product at revision 1; `false` when the name is taken. */
  async insert(p: NewProduct, m: EntityManager): Promise<ProductRow | undefined> {
    const rows: Record<string, unknown>[] = await m.query(
      `INSERT INTO api_products (id, name, title, description, owner_team_id, endpoint, endpoint_type, limits,
         price_per_1k_usd, state, revision, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', 1, $10)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [
        p.id,
        p.name,
        p.title,
        p.description,
        p.teamId,
        p.endpoint,
        p.endpointType,
        p.limits,
        p.pricePer1kTokensUsd,
        p.createdBy,
      ],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  /** Moves a product to `state` when it is still at `expected` (compare-and-set), bumping the revision. */
  async transition(
    id: string,
    expected: ProductState,
    next: { state: ProductState; sunsetAt?: Date | null; note?: string | null },
    m: EntityManager,
  ): Promise<ProductRow | undefined> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected count].
    const [rows]: [Record<string, unknown>[], number] = await m.query(
      `UPDATE api_products
          SET state = $3,
              sunset_at = CASE WHEN $4::boolean THEN $5::timestamptz ELSE sunset_at END,
              deprecation_note = CASE WHEN $4::boolean THEN $6::text ELSE deprecation_note END,
              revision = revision + 1,
              updated_at = now()
        WHERE id = $1 AND state = $2
        RETURNING *`,
      [id, expected, next.state, next.sunsetAt !== undefined, next.sunsetAt ?? null, next.note ?? null],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  async addRevision(
    product: ProductRow,
    action: string,
    actor: { id: string; name: string },
    m: EntityManager,
  ): Promise<void> {
    const snapshot = toProductDto(product);
    await m.query(
      `INSERT INTO api_product_revisions (product_id, revision, action, state, snapshot, actor_id, actor_name)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`,
      [product.id, product.revision, action, product.state, JSON.stringify(snapshot), actor.id, actor.name],
    );
  }

  async revisions(productId: string): Promise<ProductRevisionDto[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT * FROM api_product_revisions WHERE product_id = $1 ORDER BY revision DESC`,
      [productId],
    );
    return rows.map((r) => ({
      revision: Number(r.revision),
      action: String(r.action),
      state: r.state as ProductState,
      at: new Date(r.created_at as string).toISOString(),
      actor: { id: (r.actor_id as string | null) ?? null, name: (r.actor_name as string | null) ?? null },
      snapshot: (typeof r.snapshot === 'string' ? JSON.parse(r.snapshot) : r.snapshot) as ProductDto,
    }));
  }

  async linkSubscription(
    productId: string,
    subscriptionId: string,
    m: Runner = this.dataSource,
  ): Promise<void> {
    await m.query(`INSERT INTO api_product_subscriptions (product_id, subscription_id) VALUES ($1, $2)`, [
      productId,
      subscriptionId,
    ]);
  }

  async subscriptionIds(productId: string, m: Runner = this.dataSource): Promise<string[]> {
    const rows: { subscription_id: string }[] = await m.query(
      `SELECT subscription_id FROM api_product_subscriptions WHERE product_id = $1`,
      [productId],
    );
    return rows.map((r) => r.subscription_id);
  }
}

function toProduct(r: Record<string, unknown>): ProductRow {
  const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
  return {
    id: String(r.id),
    name: String(r.name),
    title: String(r.title),
    description: String(r.description),
    teamId: (r.owner_team_id as string | null) ?? null,
    endpoint: String(r.endpoint),
    endpointType: String(r.endpoint_type),
    limits: (r.limits as string | null) ?? null,
    pricePer1kTokensUsd: r.price_per_1k_usd === null ? null : Number(r.price_per_1k_usd),
    state: r.state as ProductState,
    sunsetAt: iso(r.sunset_at),
    deprecationNote: (r.deprecation_note as string | null) ?? null,
    revision: Number(r.revision),
    updatedAt: iso(r.updated_at)!,
    createdBy: (r.created_by as string | null) ?? null,
  };
}
