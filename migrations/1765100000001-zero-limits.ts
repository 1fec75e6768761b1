import { MigrationInterface, QueryRunner } from 'typeorm';

/** A limit of 0 is a rule that blocks (no request or token passes): allowed from now on. */
export class ZeroLimits1765100000001 implements MigrationInterface {
  name = 'ZeroLimits1765100000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE limit_rules DROP CONSTRAINT IF EXISTS limit_rules_limit_value_check`,
    );
    await queryRunner.query(
      `ALTER TABLE limit_rules ADD CONSTRAINT limit_rules_limit_value_check CHECK (limit_value >= 0)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM limit_rules WHERE limit_value = 0`);
    await queryRunner.query(
      `ALTER TABLE limit_rules DROP CONSTRAINT IF EXISTS limit_rules_limit_value_check`,
    );
    await queryRunner.query(
      `ALTER TABLE limit_rules ADD CONSTRAINT limit_rules_limit_value_check CHECK (limit_value > 0)`,
    );
  }
}
