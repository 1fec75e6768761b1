import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Calls the gateway makes on a caller's behalf (guardrail judge, moderation model, summariser) get
 * ledger rows of their own, linked to the caller's row (`parent_id`) with the reason (`purpose`).
 */
export class LedgerAttribution1765100000000 implements MigrationInterface {
  name = 'LedgerAttribution1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE usage_records ADD COLUMN parent_id uuid, ADD COLUMN purpose text`);
    await queryRunner.query(
      `CREATE INDEX usage_records_parent_idx ON usage_records (parent_id) WHERE parent_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS usage_records_parent_idx`);
    await queryRunner.query(`ALTER TABLE usage_records DROP COLUMN purpose, DROP COLUMN parent_id`);
  }
}
