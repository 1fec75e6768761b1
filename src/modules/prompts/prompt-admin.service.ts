import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createTwoFilesPatch } from 'diff';
import { Principal } from 'src/common/auth/principal';
import {
  CreateTemplateSchema,
  CreateVersionInput,
  CreateVersionSchema,
  MoveLabelSchema,
  RenderSchema,
  checkDefinition,
  parseBody,
} from 'src/modules/prompts/dto/prompt.dto';
import {
  PromptDiffDto,
  PromptRenderDto,
  PromptTemplateDto,
  PromptTemplateSummaryDto,
  PromptVersionDto,
  toTemplateDto,
  toTemplateSummary,
  toVersionDto,
} from 'src/modules/prompts/dto/prompt-response.dto';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { PROMPTS_CHANGED, PromptsChangedEvent } from 'src/modules/prompts/prompt.events';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { PromptRepository, VersionDefinition } from 'src/modules/prompts/prompt.repository';
import { renderPrompt } from 'src/modules/prompts/prompt-renderer';
import { LABEL_PATTERN, NAME_PATTERN, PromptTemplate, PromptVersion } from 'src/modules/prompts/prompt.types';

/** Admin use cases for templates: writes go to Postgres, reads come from the in-memory catalog. */
@Injectable()
export class PromptAdminService {
  constructor(
    private readonly repository: PromptRepository,
    private readonly holder: PromptCatalogHolder,
    private readonly events: EventEmitter2,
  ) {}

  list(): PromptTemplateSummaryDto[] {
    return [...this.holder.current.templates.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(toTemplateSummary);
  }

  get(name: string): PromptTemplateDto {
    return toTemplateDto(this.template(name));
  }

  version(name: string, version: string): PromptVersionDto {
    const template = this.template(name);
    return toVersionDto(this.versionOf(template, version), template);
  }

  async create(body: unknown, principal: Principal | undefined): Promise<PromptTemplateDto> {
    const input = parseBody(CreateTemplateSchema, body);
    await this.repository.createTemplate(input.name, input.description, definition(input, principal));
    await this.changed(input.name);
    return this.get(input.name);
  }

  async addVersion(name: string, body: unknown, principal: Principal | undefined): Promise<PromptVersionDto> {
    checkName(name);
    const input = parseBody(CreateVersionSchema, body);
    const version = await this.repository.addVersion(name, definition(input, principal));
    await this.changed(name);
    return this.version(name, String(version));
  }

  async moveLabel(name: string, label: string, body: unknown): Promise<PromptTemplateDto> {
    checkName(name);
    checkLabel(label);
    const { version } = parseBody(MoveLabelSchema, body);
    await this.repository.setLabel(name, label, version);
    await this.changed(name);
    return this.get(name);
  }

  async deleteLabel(name: string, label: string): Promise<void> {
    checkName(name);
    checkLabel(label);
    await this.repository.deleteLabel(name, label);
    await this.changed(name);
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    await this.repository.deleteTemplate(name);
    await this.changed(name);
  }

  diff(name: string, from: string | undefined, to: string | undefined): PromptDiffDto {
    const template = this.template(name);
    const a = this.versionOf(template, from ?? String(Math.max(1, template.latestVersion - 1)));
    const b = this.versionOf(template, to ?? String(template.latestVersion));
    const before = canonicalText(a);
    const after = canonicalText(b);
    const names = (v: PromptVersion) => new Map(v.variables.map((spec) => [spec.name, JSON.stringify(spec)]));
    const va = names(a);
    const vb = names(b);
    return {
      template: name,
      from: a.version,
      to: b.version,
      identical: before === after,
      messages_changed: JSON.stringify(a.messages) !== JSON.stringify(b.messages),
      params_changed: JSON.stringify(a.params) !== JSON.stringify(b.params),
      variables: {
        added: [...vb.keys()].filter((k) => !va.has(k)),
        removed: [...va.keys()].filter((k) => !vb.has(k)),
        changed: [...vb.keys()].filter((k) => va.has(k) && va.get(k) !== vb.get(k)),
      },
      patch: createTwoFilesPatch(`${name}@${a.version}`, `${name}@${b.version}`, before, after),
    };
  }

  /** Dry run: renders a version with the given variables and shows the messages, without calling a model. */
  render(name: string, body: unknown): PromptRenderDto {
    const input = parseBody(RenderSchema, body);
    if (input.label !== undefined && input.version !== undefined) {
      throw PromptException.invalid("Give either 'label' or 'version', not both.");
    }
    const template = this.template(name);
    const selected =
      input.version ??
      (input.label !== undefined ? template.labels.get(input.label) : template.latestVersion);
    if (selected === undefined)
      throw PromptException.notFound(`Label '${input.label}' of prompt template '${name}'`);
    const version = this.versionOf(template, String(selected));
    return {
      template: name,
      version: version.version,
      messages: renderPrompt(version, input.variables).map((m) => ({
        role: m.role,
        content: m.content as string,
      })),
      params: version.params,
    };
  }

  private template(name: string): PromptTemplate {
    checkName(name);
    const template = this.holder.current.templates.get(name);
    if (!template) throw PromptException.notFound(`Prompt template '${name}'`);
    return template;
  }

  private versionOf(template: PromptTemplate, raw: string): PromptVersion {
    const number = /^[1-9][0-9]{0,6}$/.test(raw) ? Number(raw) : undefined;
    if (number === undefined) throw PromptException.invalid(`'${raw.slice(0, 16)}' is not a version number.`);
    const version = template.versions.get(number);
    if (!version) throw PromptException.notFound(`Version ${number} of prompt template '${template.name}'`);
    return version;
  }

  private async changed(name: string): Promise<void> {
    await this.events.emitAsync(PROMPTS_CHANGED, new PromptsChangedEvent(name));
  }
}

function definition(input: CreateVersionInput, principal: Principal | undefined): VersionDefinition {
  return {
    messages: input.messages,
    variables: checkDefinition(input),
    params: input.params,
    commitMessage: input.commit_message,
    labels: input.labels,
    createdBy: principal?.id ?? null,
  };
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw PromptException.invalid('Invalid prompt template name.', 'name');
}

function checkLabel(label: string): void {
  if (!LABEL_PATTERN.test(label)) throw PromptException.invalid('Invalid label.', 'label');
}

/** A stable, line-oriented form of a version for human-readable diffs. */
function canonicalText(version: PromptVersion): string {
  const lines: string[] = [];
  version.messages.forEach((m, i) => {
    lines.push(`--- message ${i + 1} (${m.role})`, ...m.content.split('\n'));
  });
  lines.push('--- variables');
  for (const v of version.variables) lines.push(JSON.stringify(v));
  lines.push('--- params', JSON.stringify(version.params, Object.keys(version.params).sort()));
  return `${lines.join('\n')}\n`;
}
