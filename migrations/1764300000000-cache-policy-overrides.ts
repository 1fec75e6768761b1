import { MigrationInterface, QueryRunner } from 'typeorm';

export class CachePolicyOverrides1764300000000 implements MigrationInterface {
  name = 'CachePolicyOverrides1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE cache_policy_overrides (
        endpoint_name varchar(256) PRIMARY KEY,
        enabled boolean,
        ttl_seconds integer CHECK (ttl_seconds IS NULL OR ttl_seconds > 0),
        scope varchar(16) CHECK (scope IS NULL OR scope IN ('team', 'global', 'key')),
        requests varchar(16) CHECK (requests IS NULL OR requests IN ('deterministic', 'all')),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE cache_policy_overrides`);
  }
}
