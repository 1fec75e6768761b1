import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createTwoFilesPatch } from 'diff';
import { AdminActor } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { OwnerTeam, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
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
    private readonly audit: AuditService,
  ) {}

  /** Global templates (and MLflow registry prompts) are shown to everyone; a team's to that team. */
  list(actor: Principal): PromptTemplateSummaryDto[] {
    return TenancyPolicy.visible(actor, [...this.holder.current.templates.values()], ownerOf)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(toTemplateSummary);
  }

  get(name: string, actor: Principal): PromptTemplateDto {
    return toTemplateDto(this.template(name, actor));
  }

  version(name: string, version: string, actor: Principal): PromptVersionDto {
    const template = this.template(name, actor);
    return toVersionDto(this.versionOf(template, version), template);
  }

  async create(body: unknown, actor: AdminActor): Promise<PromptTemplateDto> {
    const input = parseBody(CreateTemplateSchema, body);
    const owner = TenancyPolicy.ownerForNew(actor.principal);
    await this.audit.write(actor, async (m) => {
      await this.repository.createTemplate(
        input.name,
        input.description,
        definition(input, actor.principal),
        owner,
        m,
      );
      return { result: undefined, event: event('create', input.name, owner, null, input) };
    });
    await this.changed(input.name);
    return this.get(input.name, actor.principal);
  }

  async addVersion(name: string, body: unknown, actor: AdminActor): Promise<PromptVersionDto> {
    const owner = this.changeable(name, actor.principal);
    const input = parseBody(CreateVersionSchema, body);
    const version = await this.audit.write(actor, async (m) => {
      const next = await this.repository.addVersion(name, definition(input, actor.principal), m);
      return { result: next, event: event('version.create', name, owner, null, { version: next, ...input }) };
    });
    await this.changed(name);
    return this.version(name, String(version), actor.principal);
  }

  async moveLabel(name: string, label: string, body: unknown, actor: AdminActor): Promise<PromptTemplateDto> {
    checkLabel(label);
    const owner = this.changeable(name, actor.principal);
    const { version } = parseBody(MoveLabelSchema, body);
    const before = this.holder.current.templates.get(name)?.labels.get(label) ?? null;
    await this.audit.write(actor, async (m) => {
      await this.repository.setLabel(name, label, version, m);
      return {
        result: undefined,
        event: event('label.set', name, owner, { label, version: before }, { label, version }),
      };
    });
    await this.changed(name);
    return this.get(name, actor.principal);
  }

  async deleteLabel(name: string, label: string, actor: AdminActor): Promise<void> {
    checkLabel(label);
    const owner = this.changeable(name, actor.principal);
    const before = this.holder.current.templates.get(name)?.labels.get(label) ?? null;
    await this.audit.write(actor, async (m) => {
      await this.repository.deleteLabel(name, label, m);
      return {
        result: undefined,
        event: event('label.delete', name, owner, { label, version: before }, null),
      };
    });
    await this.changed(name);
  }

  async delete(name: string, actor: AdminActor): Promise<void> {
    const owner = this.changeable(name, actor.principal);
    const before = this.holder.current.templates.get(name);
    await this.audit.write(actor, async (m) => {
      await this.repository.deleteTemplate(name, m);
      const snapshot = before ? toTemplateSummary(before) : null;
      return { result: undefined, event: event('delete', name, owner, snapshot, null) };
    });
    await this.changed(name);
  }

  diff(name: string, from: string | undefined, to: string | undefined, actor: Principal): PromptDiffDto {
    const template = this.template(name, actor);
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
  render(name: string, body: unknown, actor: Principal): PromptRenderDto {
    const input = parseBody(RenderSchema, body);
    if (input.label !== undefined && input.version !== undefined) {
      throw PromptException.invalid("Give either 'label' or 'version', not both.");
    }
    const template = this.template(name, actor);
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

  private template(name: string, actor: Principal): PromptTemplate {
    checkName(name);
    const template = this.holder.current.templates.get(name);
    if (!template || !TenancyPolicy.canRead(actor, ownerOf(template))) {
      throw PromptException.notFound(`Prompt template '${name}'`);
    }
    return template;
  }

  /** The owner of a template the caller may change (others' answer 404, global ones 403). */
  private changeable(name: string, actor: Principal): OwnerTeam {
    const owner = ownerOf(this.template(name, actor));
    TenancyPolicy.assertChange(actor, owner, `prompt template '${name}'`);
    return owner;
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

function ownerOf(template: PromptTemplate): OwnerTeam {
  return template.teamId ?? null;
}

function event(action: string, name: string, teamId: OwnerTeam, before: unknown, after: unknown) {
  return {
    action: `prompts.template.${action}`,
    targetType: 'prompts.template',
    targetId: name,
    teamId,
    before,
    after,
  };
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
