import { MigrationInterface, QueryRunner } from 'typeorm';

export class ModerationTeamPolicies1764400000000 implements MigrationInterface {
  name = 'ModerationTeamPolicies1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE moderation_team_policies (
        team_id varchar(128) NOT NULL,
        endpoint varchar(256) NOT NULL,
        policy jsonb NOT NULL,
        updated_by varchar(256),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (team_id, endpoint)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE moderation_team_policies`);
  }
}
