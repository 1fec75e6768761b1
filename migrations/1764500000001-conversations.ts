import { MigrationInterface, QueryRunner } from 'typeorm';

/** Stateful conversations: one row per conversation (scoped to its owner), one per stored turn. */
export class Conversations1764500000001 implements MigrationInterface {
  name = 'Conversations1764500000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        owner_scope varchar(300) NOT NULL,
        external_id varchar(128) NOT NULL,
        principal_id varchar(256),
        team_id varchar(256),
        endpoint varchar(256) NOT NULL,
        system_messages jsonb NOT NULL DEFAULT '[]'::jsonb,
        summary text,
        summarized_through integer NOT NULL DEFAULT 0,
        turn_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        UNIQUE (owner_scope, external_id)
      )`);
    await queryRunner.query(`CREATE INDEX conversations_expires_at_idx ON conversations (expires_at)`);
    await queryRunner.query(
      `CREATE INDEX conversations_owner_updated_idx ON conversations (owner_scope, updated_at DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE conversation_turns (
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        role varchar(32) NOT NULL,
        message jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (conversation_id, seq)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE conversation_turns`);
    await queryRunner.query(`DROP TABLE conversations`);
  }
}
