import { MigrationInterface, QueryRunner } from 'typeorm';

/** Teams, principals, API keys, access grants, subscription requests and the append-only audit log. */
export class IdentityAndAccess1764200000000 implements MigrationInterface {
  name = 'IdentityAndAccess1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE auth_teams (
        id uuid PRIMARY KEY,
        name varchar(128) NOT NULL UNIQUE,
        description varchar(512) NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE auth_principals (
        id uuid PRIMARY KEY,
        kind varchar(16) NOT NULL CHECK (kind IN ('user', 'service')),
        name varchar(256) NOT NULL,
        team_id uuid REFERENCES auth_teams(id) ON DELETE RESTRICT,
        roles jsonb NOT NULL DEFAULT '[]'::jsonb,
        issuer varchar(512),
        subject varchar(512),
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (issuer, subject)
      )`);
    await queryRunner.query(`
      CREATE TABLE auth_api_keys (
        id uuid PRIMARY KEY,
        principal_id uuid NOT NULL REFERENCES auth_principals(id) ON DELETE CASCADE,
        name varchar(128) NOT NULL,
        prefix varchar(32) NOT NULL,
        sha256 char(64) NOT NULL UNIQUE,
        permissions jsonb,
        endpoints jsonb,
        expires_at timestamptz,
        revoked_at timestamptz,
        rotated_to uuid,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX auth_api_keys_principal_idx ON auth_api_keys (principal_id)`);
    await queryRunner.query(`
      CREATE TABLE auth_access_grants (
        id uuid PRIMARY KEY,
        team_id uuid REFERENCES auth_teams(id) ON DELETE CASCADE,
        principal_id uuid REFERENCES auth_principals(id) ON DELETE CASCADE,
        endpoint_pattern varchar(256) NOT NULL,
        destinations jsonb,
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((team_id IS NULL) <> (principal_id IS NULL))
      )`);
    await queryRunner.query(`
      CREATE TABLE auth_subscriptions (
        id uuid PRIMARY KEY,
        principal_id uuid NOT NULL REFERENCES auth_principals(id) ON DELETE CASCADE,
        team_id uuid REFERENCES auth_teams(id) ON DELETE CASCADE,
        endpoint_pattern varchar(256) NOT NULL,
        reason varchar(1024) NOT NULL DEFAULT '',
        status varchar(16) NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
        decided_by uuid,
        decided_at timestamptz,
        decision_note varchar(1024),
        grant_id uuid,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_id uuid,
        actor_name varchar(256),
        team_id uuid,
        action varchar(64) NOT NULL,
        outcome varchar(16) NOT NULL CHECK (outcome IN ('success', 'denied')),
        target_type varchar(64) NOT NULL,
        target_id varchar(256),
        before jsonb,
        after jsonb,
        request_id varchar(128),
        source varchar(64)
      )`);
    await queryRunner.query(`CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC)`);
    await queryRunner.query(`CREATE INDEX audit_log_team_idx ON audit_log (team_id, at DESC)`);
    // Append-only: even the gateway's own database role cannot rewrite history.
    await queryRunner.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    await queryRunner.query(`
      CREATE TABLE provider_secrets (
        name varchar(128) PRIMARY KEY,
        key_version integer NOT NULL,
        iv bytea NOT NULL,
        tag bytea NOT NULL,
        ciphertext bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE provider_secrets`);
    await queryRunner.query(`DROP TRIGGER audit_log_no_rewrite ON audit_log`);
    await queryRunner.query(`DROP FUNCTION audit_log_append_only()`);
    await queryRunner.query(`DROP TABLE audit_log`);
    await queryRunner.query(`DROP TABLE auth_subscriptions`);
    await queryRunner.query(`DROP TABLE auth_access_grants`);
    await queryRunner.query(`DROP TABLE auth_api_keys`);
    await queryRunner.query(`DROP TABLE auth_principals`);
    await queryRunner.query(`DROP TABLE auth_teams`);
  }
}
