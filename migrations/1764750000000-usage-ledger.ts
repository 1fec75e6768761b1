import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The usage ledger: one row per inference or prediction request, keyed on the gateway-generated
 * invocation id (unique), with the caller-visible x-request-id kept beside it (it may repeat). Strings
 * are `text` so that no value can make a batch insert fail; numbers are checked by the writer.
 */
export class UsageLedger1764750000000 implements MigrationInterface {
  name = 'UsageLedger1764750000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE usage_records (
        id uuid PRIMARY KEY,
        request_id text NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        surface text NOT NULL,
        operation text,
        stream boolean NOT NULL DEFAULT false,
        principal_id text,
        team_id text,
        api_key_id text,
        requested text,
        route text,
        endpoint text,
        target text,
        provider text,
        model text,
        model_version text,
        prompt_tokens integer,
        completion_tokens integer,
        tokens_estimated boolean NOT NULL DEFAULT false,
        cost_usd numeric(20, 10),
        latency_ms double precision NOT NULL,
        ttft_ms double precision,
        status integer NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('success', 'error', 'cache_hit', 'cancelled')),
        error_code text,
        attempts integer NOT NULL DEFAULT 0,
        cache_hit boolean NOT NULL DEFAULT false,
        prompt_version text,
        moderation_input text,
        moderation_output text,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX usage_records_started_at ON usage_records (started_at)`);
    await queryRunner.query(`CREATE INDEX usage_records_team_started ON usage_records (team_id, started_at)`);
    await queryRunner.query(`CREATE INDEX usage_records_request_id ON usage_records (request_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE usage_records`);
  }
}
