import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stored OpenAI Responses (`store: true`, the Responses API's default): the response object the caller
 * received, the input items it was generated from, and the conversation items before them (what a
 * follow-up with `previous_response_id` prepends). Scoped to the caller's team, else the principal.
 */
export class StoredResponses1765300100000 implements MigrationInterface {
  name = 'StoredResponses1765300100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE stored_responses (
        id varchar(64) PRIMARY KEY,
        owner_scope varchar(300) NOT NULL,
        principal_id varchar(256),
        team_id varchar(256),
        endpoint varchar(256) NOT NULL,
        response jsonb NOT NULL,
        input_items jsonb NOT NULL,
        context_items jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX stored_responses_expires_at_idx ON stored_responses (expires_at)`);
    await queryRunner.query(
      `CREATE INDEX stored_responses_owner_created_idx ON stored_responses (owner_scope, created_at DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE stored_responses`);
  }
}
