import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { PromptApiEntity } from 'src/modules/prompts/entities/prompt-api.entity';
import { PromptLabelEntity } from 'src/modules/prompts/entities/prompt-label.entity';
import { PromptTemplateEntity } from 'src/modules/prompts/entities/prompt-template.entity';
import { PromptVersionEntity } from 'src/modules/prompts/entities/prompt-version.entity';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { TemplateMessage, VariableSpec } from 'src/modules/prompts/prompt.types';

export interface VersionDefinition {
  messages: TemplateMessage[];
  variables: VariableSpec[];
  params: Record<string, unknown>;
  commitMessage: string;
  labels: string[];
  createdBy: string | null;
}

export interface PromptRows {
  templates: PromptTemplateEntity[];
  versions: PromptVersionEntity[];
  labels: PromptLabelEntity[];
  apis: PromptApiEntity[];
}

export type ApiRow = Omit<PromptApiEntity, 'createdAt' | 'updatedAt'>;

const UNIQUE_VIOLATION = '23505';

/** All prompt storage. Versions are only ever inserted (a trigger refuses updates). */
@Injectable()
export class PromptRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async loadAll(): Promise<PromptRows> {
    const m = this.dataSource.manager;
    const [templates, versions, labels, apis] = await Promise.all([
      m.find(PromptTemplateEntity),
      m.find(PromptVersionEntity),
      m.find(PromptLabelEntity),
      m.find(PromptApiEntity),
    ]);
    return { templates, versions, labels, apis };
  }

  /** A cheap fingerprint of everything stored, so replicas can poll for changes made elsewhere. */
  async stamp(): Promise<string> {
    const rows: { stamp: string }[] = await this.dataSource.query(`
      SELECT concat_ws(':',
        (SELECT count(*) FROM prompt_templates), (SELECT max(updated_at) FROM prompt_templates),
        (SELECT count(*) FROM prompt_apis), (SELECT max(updated_at) FROM prompt_apis)) AS stamp`);
    return rows[0]?.stamp ?? '';
  }

  /** Runs in the caller's transaction when it gives one (an audited admin change), else in its own. */
  private run<T>(m: EntityManager | undefined, work: (m: EntityManager) => Promise<T>): Promise<T> {
    return m ? work(m) : this.dataSource.transaction(work);
  }

  async createTemplate(
    name: string,
    description: string,
    definition: VersionDefinition,
    teamId: string | null = null,
    outer?: EntityManager,
  ): Promise<void> {
    try {
      await this.run(outer, async (m) => {
        const id = randomUUID();
        const now = new Date();
        await m.insert(PromptTemplateEntity, {
          id,
          name,
          description,
          createdAt: now,
          updatedAt: now,
          teamId,
        });
        await this.insertVersion(m, id, 1, definition, now);
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw PromptException.conflict(`Prompt template '${name}' already exists.`);
      throw error;
    }
  }

  /** Appends the next version under a row lock on the template, so concurrent writers get 1, 2, 3… */
  async addVersion(name: string, definition: VersionDefinition, outer?: EntityManager): Promise<number> {
    return this.run(outer, async (m) => {
      const id = await this.lockTemplate(m, name);
      const rows: { max: number | null }[] = await m.query(
        'SELECT max(version) AS max FROM prompt_versions WHERE template_id = $1',
        [id],
      );
      const next = (rows[0]?.max ?? 0) + 1;
      const now = new Date();
      await this.insertVersion(m, id, next, definition, now);
      await m.update(PromptTemplateEntity, { id }, { updatedAt: now });
      return next;
    });
  }

  async setLabel(name: string, label: string, version: number, outer?: EntityManager): Promise<void> {
    await this.run(outer, async (m) => {
      const id = await this.lockTemplate(m, name);
      const exists = await m.exists(PromptVersionEntity, { where: { templateId: id, version } });
      if (!exists) throw PromptException.notFound(`Version ${version} of prompt template '${name}'`);
      const now = new Date();
      await m.upsert(PromptLabelEntity, { templateId: id, label, version, updatedAt: now }, [
        'templateId',
        'label',
      ]);
      await m.update(PromptTemplateEntity, { id }, { updatedAt: now });
    });
  }

  async deleteLabel(name: string, label: string, outer?: EntityManager): Promise<void> {
    await this.run(outer, async (m) => {
      const id = await this.lockTemplate(m, name);
      const result = await m.delete(PromptLabelEntity, { templateId: id, label });
      if (!result.affected) throw PromptException.notFound(`Label '${label}' of prompt template '${name}'`);
      await m.update(PromptTemplateEntity, { id }, { updatedAt: new Date() });
    });
  }

  async deleteTemplate(name: string, m: EntityManager = this.dataSource.manager): Promise<void> {
    const result = await m.delete(PromptTemplateEntity, { name });
    if (!result.affected) throw PromptException.notFound(`Prompt template '${name}'`);
  }

  async upsertApi(api: ApiRow, m: EntityManager = this.dataSource.manager): Promise<void> {
    const now = new Date();
    await m.query(
      `INSERT INTO prompt_apis (name, template_name, label, version, endpoint, description, output_schema,
                                structured_output, created_at, updated_at, team_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
       ON CONFLICT (name) DO UPDATE SET template_name = EXCLUDED.template_name, label = EXCLUDED.label,
         version = EXCLUDED.version, endpoint = EXCLUDED.endpoint, description = EXCLUDED.description,
         output_schema = EXCLUDED.output_schema, structured_output = EXCLUDED.structured_output,
         updated_at = EXCLUDED.updated_at, team_id = EXCLUDED.team_id`,
      [
        api.name,
        api.templateName,
        api.label,
        api.version,
        api.endpoint,
        api.description,
        api.outputSchema === null ? null : JSON.stringify(api.outputSchema),
        api.structuredOutput,
        now,
        api.teamId,
      ],
    );
  }

  async deleteApi(name: string, m: EntityManager = this.dataSource.manager): Promise<void> {
    const result = await m.delete(PromptApiEntity, { name });
    if (!result.affected) throw PromptException.notFound(`Prompt API '${name}'`);
  }

  private async lockTemplate(m: EntityManager, name: string): Promise<string> {
    const rows: { id: string }[] = await m.query(
      'SELECT id FROM prompt_templates WHERE name = $1 FOR UPDATE',
      [name],
    );
    if (rows.length === 0) throw PromptException.notFound(`Prompt template '${name}'`);
    return rows[0].id;
  }

  private async insertVersion(
    m: EntityManager,
    templateId: string,
    version: number,
    definition: VersionDefinition,
    now: Date,
  ): Promise<void> {
    await m.query(
      `INSERT INTO prompt_versions (template_id, version, messages, variables, params, commit_message,
                                    created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        templateId,
        version,
        JSON.stringify(definition.messages),
        JSON.stringify(definition.variables),
        JSON.stringify(definition.params),
        definition.commitMessage,
        definition.createdBy,
        now,
      ],
    );
    for (const label of definition.labels) {
      await m.upsert(PromptLabelEntity, { templateId, label, version, updatedAt: now }, [
        'templateId',
        'label',
      ]);
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: string } | undefined)?.code === UNIQUE_VIOLATION
  );
}
