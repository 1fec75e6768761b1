import { MigrationInterface, QueryRunner } from 'typeorm';

export class LimitsBudgetsPrices1764700000000 implements MigrationInterface {
  name = 'LimitsBudgetsPrices1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE limit_rules (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope varchar(16) NOT NULL CHECK (scope IN ('key', 'principal', 'team', 'endpoint', 'global')),
        subject varchar(256),
        endpoint varchar(256),
        metric varchar(16) NOT NULL CHECK (metric IN ('requests', 'tokens', 'concurrency')),
        window_seconds integer CHECK (window_seconds IS NULL OR window_seconds > 0),
        limit_value bigint NOT NULL CHECK (limit_value > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE budgets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(128) NOT NULL,
        scope varchar(16) NOT NULL CHECK (scope IN ('key', 'principal', 'team', 'endpoint', 'global')),
        subject varchar(256),
        endpoint varchar(256),
        period varchar(16) NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
        amount_usd numeric(18, 6) NOT NULL CHECK (amount_usd >= 0),
        mode varchar(8) NOT NULL CHECK (mode IN ('hard', 'soft')),
        alert_webhook_url varchar(2048),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE price_catalog (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        provider varchar(64) NOT NULL,
        model varchar(256) NOT NULL,
        input_per_million numeric(14, 6) NOT NULL CHECK (input_per_million >= 0),
        output_per_million numeric(14, 6) NOT NULL CHECK (output_per_million >= 0),
        effective_from timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX price_catalog_model_idx ON price_catalog (provider, model, effective_from)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE price_catalog`);
    await queryRunner.query(`DROP TABLE budgets`);
    await queryRunner.query(`DROP TABLE limit_rules`);
  }
}
