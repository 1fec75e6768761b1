import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Endpoints and routes managed through the admin API, their numbered revisions, and progressive
 * rollouts with the per-replica traffic statistics the rollout leader judges them by.
 */
export class ConfigLifecycle1764650000000 implements MigrationInterface {
  name = 'ConfigLifecycle1764650000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE gateway_config_entries (
        kind varchar(16) NOT NULL CHECK (kind IN ('endpoint', 'route')),
        name varchar(256) NOT NULL,
        body jsonb NOT NULL,
        revision integer NOT NULL,
        updated_by varchar(256),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, name)
      )`);
    await queryRunner.query(`
      CREATE TABLE gateway_config_changes (
        id bigserial PRIMARY KEY,
        kind varchar(16) NOT NULL CHECK (kind IN ('endpoint', 'route')),
        name varchar(256) NOT NULL,
        revision integer NOT NULL,
        action varchar(16) NOT NULL,
        before jsonb,
        after jsonb,
        actor_id varchar(256),
        actor_name varchar(256),
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (kind, name, revision)
      )`);
    await queryRunner.query(`
      CREATE TABLE gateway_rollouts (
        id uuid PRIMARY KEY,
        route varchar(256) NOT NULL,
        baseline varchar(256) NOT NULL,
        canary varchar(256) NOT NULL,
        plan jsonb NOT NULL,
        state varchar(16) NOT NULL CHECK (state IN ('running', 'paused', 'completed', 'rolled_back', 'aborted')),
        step_index integer NOT NULL,
        step_started_at timestamptz NOT NULL,
        reason text,
        last_evaluation jsonb,
        history jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_by varchar(256),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // At most one live (running or paused) rollout per route.
    await queryRunner.query(
      `CREATE UNIQUE INDEX gateway_rollouts_live_route ON gateway_rollouts (route) WHERE state IN ('running', 'paused')`,
    );
    await queryRunner.query(`
      CREATE TABLE gateway_rollout_stats (
        rollout_id uuid NOT NULL REFERENCES gateway_rollouts(id) ON DELETE CASCADE,
        step_index integer NOT NULL,
        replica_id varchar(64) NOT NULL,
        endpoint varchar(256) NOT NULL,
        requests integer NOT NULL,
        errors integer NOT NULL,
        histogram jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (rollout_id, step_index, replica_id, endpoint)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE gateway_rollout_stats`);
    await queryRunner.query(`DROP TABLE gateway_rollouts`);
    await queryRunner.query(`DROP TABLE gateway_config_changes`);
    await queryRunner.query(`DROP TABLE gateway_config_entries`);
  }
}
