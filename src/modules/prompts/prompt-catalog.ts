import { PromptRows } from 'src/modules/prompts/prompt.repository';
import {
  PromptSelector,
  PromptTemplate,
  PromptVersion,
  PublishedPromptApi,
} from 'src/modules/prompts/prompt.types';

/** An immutable in-memory snapshot of every template, version, label and published API. */
export class PromptCatalog {
  constructor(
    readonly templates: ReadonlyMap<string, PromptTemplate>,
    readonly apis: ReadonlyMap<string, PublishedPromptApi>,
  ) {}

  static empty(): PromptCatalog {
    return new PromptCatalog(new Map(), new Map());
  }

  static fromRows(rows: PromptRows): PromptCatalog {
    const nameById = new Map(rows.templates.map((t) => [t.id, t.name]));
    const versions = new Map<string, Map<number, PromptVersion>>();
    for (const row of rows.versions) {
      const template = nameById.get(row.templateId);
      if (template === undefined) continue;
      const byNumber = versions.get(row.templateId) ?? new Map<number, PromptVersion>();
      byNumber.set(row.version, {
        template,
        version: row.version,
        messages: row.messages,
        variables: row.variables,
        params: row.params,
        commitMessage: row.commitMessage,
        createdBy: row.createdBy,
        createdAt: row.createdAt,
      });
      versions.set(row.templateId, byNumber);
    }
    const labels = new Map<string, Map<string, number>>();
    for (const row of rows.labels) {
      const byLabel = labels.get(row.templateId) ?? new Map<string, number>();
      byLabel.set(row.label, row.version);
      labels.set(row.templateId, byLabel);
    }
    const templates = new Map<string, PromptTemplate>();
    for (const row of rows.templates) {
      const own = versions.get(row.id) ?? new Map<number, PromptVersion>();
      templates.set(row.name, {
        id: row.id,
        name: row.name,
        description: row.description,
        versions: own,
        labels: labels.get(row.id) ?? new Map(),
        latestVersion: Math.max(0, ...own.keys()),
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
        teamId: row.teamId,
      });
    }
    const apis = new Map<string, PublishedPromptApi>(
      rows.apis.map((row) => [
        row.name,
        {
          name: row.name,
          template: row.templateName,
          label: row.label,
          version: row.version,
          endpoint: row.endpoint,
          description: row.description,
          outputSchema: row.outputSchema,
          structuredOutput: row.structuredOutput,
          createdAt: row.createdAt,
          updatedAt: row.updatedAt,
          teamId: row.teamId,
        },
      ]),
    );
    return new PromptCatalog(templates, apis);
  }

  /** The same catalog with extra templates (MLflow's Prompt Registry) beside the local ones. */
  withTemplates(extra: ReadonlyMap<string, PromptTemplate>): PromptCatalog {
    if (extra.size === 0) return this;
    return new PromptCatalog(new Map([...this.templates, ...extra]), this.apis);
  }

  /** The version a selector points at now, or undefined when the template, label or version is missing. */
  resolve(selector: PromptSelector): PromptVersion | undefined {
    const template = this.templates.get(selector.template);
    if (!template) return undefined;
    const version = 'label' in selector ? template.labels.get(selector.label) : selector.version;
    return version === undefined ? undefined : template.versions.get(version);
  }
}
