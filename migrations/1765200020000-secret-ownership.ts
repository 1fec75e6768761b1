import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider secrets get an owning team (NULL: global, admin-owned) and a list of other teams allowed to
 * reference them from configuration created through the admin API.
 */
export class SecretOwnership1765200020000 implements MigrationInterface {
  name = 'SecretOwnership1765200020000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE provider_secrets
         ADD COLUMN owner_team_id uuid NULL REFERENCES auth_teams(id) ON DELETE SET NULL,
         ADD COLUMN allowed_team_ids jsonb NOT NULL DEFAULT '[]'::jsonb`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE provider_secrets DROP COLUMN allowed_team_ids, DROP COLUMN owner_team_id`,
    );
  }
}
