import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764090000000 implements MigrationInterface {
  name = 'InitialSchema1764090000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE gateway_config_revisions (
        id bigserial PRIMARY KEY,
        sha256 char(64) NOT NULL,
        source varchar(32) NOT NULL,
        status varchar(16) NOT NULL CHECK (status IN ('applied', 'rejected')),
        endpoint_names jsonb NOT NULL DEFAULT '[]'::jsonb,
        route_names jsonb NOT NULL DEFAULT '[]'::jsonb,
        problems jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX gateway_config_revisions_created_at_idx ON gateway_config_revisions (created_at DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE gateway_config_revisions`);
  }
}
