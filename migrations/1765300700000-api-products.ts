import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API products: an endpoint or traffic route published to the developer portal with a lifecycle state
 * (draft → published → deprecated → retired), its numbered revisions, and the subscription requests
 * made for it (so that retiring it can lapse the grants they produced).
 */
export class ApiProducts1765300700000 implements MigrationInterface {
  name = 'ApiProducts1765300700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE api_products (
         id uuid PRIMARY KEY,
         name text NOT NULL UNIQUE,
         title text NOT NULL,
         description text NOT NULL DEFAULT '',
         owner_team_id uuid NULL REFERENCES auth_teams(id) ON DELETE SET NULL,
         endpoint text NOT NULL,
         endpoint_type text NOT NULL,
         limits text NULL,
         price_per_1k_usd numeric(20, 10) NULL,
         state text NOT NULL CHECK (state IN ('draft', 'published', 'deprecated', 'retired')),
         sunset_at timestamptz NULL,
         deprecation_note text NULL,
         revision integer NOT NULL,
         created_by text NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    await queryRunner.query(`CREATE INDEX api_products_endpoint ON api_products (endpoint)`);
    await queryRunner.query(
      `CREATE TABLE api_product_revisions (
         product_id uuid NOT NULL REFERENCES api_products(id) ON DELETE CASCADE,
         revision integer NOT NULL,
         action text NOT NULL,
         state text NOT NULL,
         snapshot jsonb NOT NULL,
         actor_id text NULL,
         actor_name text NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (product_id, revision)
       )`,
    );
    await queryRunner.query(
      `CREATE TABLE api_product_subscriptions (
         product_id uuid NOT NULL REFERENCES api_products(id) ON DELETE CASCADE,
         subscription_id uuid NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (product_id, subscription_id)
       )`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_product_subscriptions`);
    await queryRunner.query(`DROP TABLE api_product_revisions`);
    await queryRunner.query(`DROP TABLE api_products`);
  }
}
