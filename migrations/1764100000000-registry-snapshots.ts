import { MigrationInterface, QueryRunner } from 'typeorm';

export class RegistrySnapshots1764100000000 implements MigrationInterface {
  name = 'RegistrySnapshots1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE registry_snapshots (
        id varchar(64) PRIMARY KEY,
        hash char(64) NOT NULL,
        models jsonb NOT NULL DEFAULT '[]'::jsonb,
        synced_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE registry_snapshots`);
  }
}
