import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenAI Files and Batch API: uploaded files (JSONL text in PostgreSQL, in chunks cut at line ends, so every replica and
 * the embedded database serve it), batches, and one row per batch line — the job runner's queue, where
 * each line's claim and result live. Ledger rows of batch lines carry the batch id.
 */
export class FilesAndBatches1765300500000 implements MigrationInterface {
  name = 'FilesAndBatches1765300500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE openai_files (
        id text PRIMARY KEY,
        team_id text,
        principal_id text,
        purpose text NOT NULL,
        filename text NOT NULL,
        bytes bigint NOT NULL DEFAULT 0,
        lines integer NOT NULL DEFAULT 0,
        status text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX openai_files_team_idx ON openai_files (team_id, created_at DESC)`);
    await queryRunner.query(`
      CREATE TABLE openai_file_chunks (
        file_id text NOT NULL REFERENCES openai_files (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (file_id, seq)
      )`);
    await queryRunner.query(`
      CREATE TABLE batches (
        id text PRIMARY KEY,
        seq bigserial UNIQUE,
        team_id text,
        principal_id text,
        api_key_id text,
        endpoint text NOT NULL,
        input_file_id text NOT NULL,
        completion_window text NOT NULL,
        status text NOT NULL,
        metadata jsonb,
        errors jsonb,
        output_file_id text,
        error_file_id text,
        total integer NOT NULL DEFAULT 0,
        completed integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        reported_decile integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        in_progress_at timestamptz,
        finalizing_at timestamptz,
        completed_at timestamptz,
        failed_at timestamptz,
        expired_at timestamptz,
        cancelling_at timestamptz,
        cancelled_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX batches_team_idx ON batches (team_id, seq DESC)`);
    await queryRunner.query(
      `CREATE INDEX batches_active_idx ON batches (status) WHERE status IN ('validating', 'in_progress', 'cancelling', 'finalizing')`,
    );
    await queryRunner.query(`
      CREATE TABLE batch_lines (
        batch_id text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        line integer NOT NULL,
        custom_id text NOT NULL,
        body jsonb NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        lease_until timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        status_code integer,
        response jsonb,
        error jsonb,
        request_id text,
        PRIMARY KEY (batch_id, line)
      )`);
    await queryRunner.query(
      `CREATE INDEX batch_lines_open_idx ON batch_lines (batch_id, line) WHERE state <> 'done'`,
    );
    await queryRunner.query(`ALTER TABLE usage_records ADD COLUMN batch_id text`);
    await queryRunner.query(
      `CREATE INDEX usage_records_batch_idx ON usage_records (batch_id) WHERE batch_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS usage_records_batch_idx`);
    await queryRunner.query(`ALTER TABLE usage_records DROP COLUMN batch_id`);
    await queryRunner.query(`DROP TABLE batch_lines`);
    await queryRunner.query(`DROP TABLE batches`);
    await queryRunner.query(`DROP TABLE openai_file_chunks`);
    await queryRunner.query(`DROP TABLE openai_files`);
  }
}
