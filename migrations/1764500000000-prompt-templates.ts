import { MigrationInterface, QueryRunner } from 'typeorm';

/** Prompt templates: immutable numbered versions, movable labels, and templates published as REST APIs. */
export class PromptTemplates1764500000000 implements MigrationInterface {
  name = 'PromptTemplates1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE prompt_templates (
        id uuid PRIMARY KEY,
        name varchar(128) NOT NULL UNIQUE,
        description text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE prompt_versions (
        template_id uuid NOT NULL REFERENCES prompt_templates (id) ON DELETE CASCADE,
        version integer NOT NULL CHECK (version > 0),
        messages jsonb NOT NULL,
        variables jsonb NOT NULL DEFAULT '[]'::jsonb,
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        commit_message text NOT NULL DEFAULT '',
        created_by varchar(256),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (template_id, version)
      )`);
    // A version, once written, never changes: the database refuses it even if a code path tried.
    await queryRunner.query(`
      CREATE FUNCTION prompt_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'prompt versions are immutable';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER prompt_versions_no_update BEFORE UPDATE ON prompt_versions
      FOR EACH ROW EXECUTE FUNCTION prompt_versions_immutable()`);
    await queryRunner.query(`
      CREATE TABLE prompt_labels (
        template_id uuid NOT NULL,
        label varchar(64) NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (template_id, label),
        FOREIGN KEY (template_id, version) REFERENCES prompt_versions (template_id, version) ON DELETE CASCADE
      )`);
    await queryRunner.query(`
      CREATE TABLE prompt_apis (
        name varchar(128) PRIMARY KEY,
        template_name varchar(128) NOT NULL,
        label varchar(64),
        version integer,
        endpoint varchar(256) NOT NULL,
        description text NOT NULL DEFAULT '',
        output_schema jsonb,
        structured_output boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((label IS NULL) <> (version IS NULL))
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE prompt_apis`);
    await queryRunner.query(`DROP TABLE prompt_labels`);
    await queryRunner.query(`DROP TABLE prompt_versions`);
    await queryRunner.query(`DROP FUNCTION prompt_versions_immutable() CASCADE`);
    await queryRunner.query(`DROP TABLE prompt_templates`);
  }
}
