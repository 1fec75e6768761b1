import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Owning teams of admin objects (NULL = global, admin-owned) and hashes of audited snapshots.
 * No foreign key to auth_teams: an object of a deleted team stays with that team (visible to admins
 * only) rather than turning global.
 */
export class AdminTenancy1765200010000 implements MigrationInterface {
  name = 'AdminTenancy1765200010000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of TEAM_OWNED) {
      await queryRunner.query(`ALTER TABLE ${table} ADD COLUMN team_id uuid`);
    }
    await queryRunner.query(
      `ALTER TABLE audit_log ADD COLUMN before_hash char(64), ADD COLUMN after_hash char(64)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Team-scoped limits and budgets set before owners existed belong to the team they bound.
    for (const table of ['limit_rules', 'budgets']) {
      await queryRunner.query(
        `UPDATE ${table} SET team_id = subject::uuid
         WHERE scope = 'team' AND subject ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`,
      );
    }
    await queryRunner.query(`ALTER TABLE audit_log DROP COLUMN after_hash, DROP COLUMN before_hash`);
    for (const table of [...TEAM_OWNED].reverse()) {
      await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN team_id`);
    }
  }
}

const TEAM_OWNED = [
  'gateway_config_entries',
  'gateway_config_changes',
  'prompt_templates',
  'prompt_apis',
  'limit_rules',
  'budgets',
] as const;
