import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AdminActor } from 'src/common/auth/admin-actor';
import { Principal } from 'src/common/auth/principal';
import { OwnerTeam, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import type { PromptApiCall } from 'src/modules/pipeline/invocation-context';
import { ChatMessage, ChatRequest } from 'src/modules/providers/provider-adapter';
import { RouteEntry } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';
import { PublishApiSchema, parseBody } from 'src/modules/prompts/dto/prompt.dto';
import { PromptApiDto, toApiDto } from 'src/modules/prompts/dto/prompt-response.dto';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { PROMPTS_CHANGED, PromptsChangedEvent } from 'src/modules/prompts/prompt.events';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { PromptOutputValidator } from 'src/modules/prompts/prompt-output.validator';
import { PromptRepository } from 'src/modules/prompts/prompt.repository';
import { PromptCaller, PromptService } from 'src/modules/prompts/prompt.service';
import {
  NAME_PATTERN,
  PromptSelector,
  PromptVersion,
  PublishedPromptApi,
} from 'src/modules/prompts/prompt.types';

/** Providers whose chat API enforces `response_format: {type: "json_schema"}` (OpenAI wire). */
const STRUCTURED_OUTPUT_PROVIDERS: ReadonlySet<string> = new Set(['openai', 'azure']);

/** Published prompt APIs: `POST /apis/<name>` renders the template with the JSON body and returns clean JSON. */
@Injectable()
export class PromptApiService {
  private readonly validator = new PromptOutputValidator();

  constructor(
    private readonly repository: PromptRepository,
    private readonly holder: PromptCatalogHolder,
    private readonly prompts: PromptService,
    private readonly routing: RoutingService,
    private readonly events: EventEmitter2,
    private readonly audit: AuditService,
    private readonly owners: RouteConfigService,
  ) {}

  list(actor: Principal): PromptApiDto[] {
    return TenancyPolicy.visible(actor, [...this.holder.current.apis.values()], (api) => api.teamId ?? null)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(toApiDto);
  }

  get(name: string, actor: Principal): PromptApiDto {
    return toApiDto(this.readable(name, actor));
  }

  /**
   * Publishing is a change of the API's owner (a new API belongs to the publisher's team); the API
   * may use templates the owner can read, and an endpoint of another team only when an admin says so.
   */
  async publish(name: string, body: unknown, actor: AdminActor): Promise<PromptApiDto> {
    checkName(name);
    const principal = actor.principal;
    const existing = this.holder.current.apis.get(name);
    let owner: OwnerTeam;
    if (existing) {
      owner = existing.teamId ?? null;
      if (!TenancyPolicy.canRead(principal, owner)) throw PromptException.notFound(`Prompt API '${name}'`);
      TenancyPolicy.assertChange(principal, owner, `prompt API '${name}'`);
    } else {
      owner = TenancyPolicy.ownerForNew(principal);
    }
    const input = parseBody(PublishApiSchema, body);
    const template = this.holder.current.templates.get(input.template);
    if (template && !TenancyPolicy.canRead(principal, template.teamId ?? null)) {
      throw PromptException.invalid(
        `Prompt template '${input.template}' has no such label or version.`,
        'template',
      );
    }
    const selector: PromptSelector =
      input.version !== undefined
        ? { template: input.template, version: input.version }
        : { template: input.template, label: input.label ?? 'production' };
    if (!this.holder.current.resolve(selector)) {
      throw PromptException.invalid(
        `Prompt template '${input.template}' has no ${'label' in selector ? `label '${selector.label}'` : `version ${selector.version}`}.`,
        'template',
      );
    }
    const entry = this.routing.resolve(input.endpoint);
    if (!entry || entry.endpointType !== 'llm/v1/chat') {
      throw PromptException.invalid(
        `'${input.endpoint}' is not a chat endpoint or route of this gateway.`,
        'endpoint',
      );
    }
    const endpointOwner = this.owners.ownerOf(input.endpoint);
    if (!TenancyPolicy.canRead(principal, endpointOwner)) {
      throw PromptException.invalid(
        `'${input.endpoint}' is not a chat endpoint or route of this gateway.`,
        'endpoint',
      );
    }
    if (endpointOwner !== null && endpointOwner !== owner) {
      TenancyPolicy.assertAdminOnly(
        principal,
        `an API of one team over another team's endpoint ('${input.endpoint}')`,
      );
    }
    if (input.output_schema) this.validator.assertValidSchema(input.output_schema);
    const row = {
      name,
      templateName: input.template,
      label: 'label' in selector ? selector.label : null,
      version: 'version' in selector ? selector.version : null,
      endpoint: input.endpoint,
      description: input.description,
      outputSchema: input.output_schema,
      structuredOutput: input.structured_output,
      teamId: owner,
    };
    await this.audit.write(actor, async (m) => {
      await this.repository.upsertApi(row, m);
      return {
        result: undefined,
        event: apiEvent(
          existing ? 'update' : 'publish',
          name,
          owner,
          existing ? toApiDto(existing) : null,
          row,
        ),
      };
    });
    await this.events.emitAsync(PROMPTS_CHANGED, new PromptsChangedEvent(input.template));
    return this.get(name, principal);
  }

  async unpublish(name: string, actor: AdminActor): Promise<void> {
    checkName(name);
    const existing = this.holder.current.apis.get(name);
    const owner = existing?.teamId ?? null;
    if (existing) TenancyPolicy.assertChange(actor.principal, owner, `prompt API '${name}'`);
    else if (!TenancyPolicy.isAdmin(actor.principal)) throw PromptException.notFound(`Prompt API '${name}'`);
    await this.audit.write(actor, async (m) => {
      await this.repository.deleteApi(name, m);
      return {
        result: undefined,
        event: apiEvent('unpublish', name, owner, existing ? toApiDto(existing) : null, null),
      };
    });
    await this.events.emitAsync(PROMPTS_CHANGED, new PromptsChangedEvent(null));
  }

  private readable(name: string, actor: Principal): PublishedPromptApi {
    const api = this.api(name);
    if (!TenancyPolicy.canRead(actor, api.teamId ?? null))
      throw PromptException.notFound(`Prompt API '${name}'`);
    return api;
  }

  /**
   * The published API a call names and the chat endpoint or route behind it, for the pipeline (which
   * then checks the caller's access to that endpoint, as for a direct call).
   */
  resolveForCall(name: string): { api: PublishedPromptApi; entry: RouteEntry; call: PromptApiCall } {
    const api = this.api(name);
    const entry = this.routing.resolve(api.endpoint);
    if (!entry || entry.endpointType !== 'llm/v1/chat') {
      throw PromptException.unavailable(
        `The endpoint behind API '${name}' is not available; ask an administrator.`,
      );
    }
    const schema = api.outputSchema;
    return {
      api,
      entry,
      call: {
        name: api.name,
        outputSchema: schema,
        check: (text) => (schema ? this.validator.check(schema, text) : { ok: true, value: { text } }),
        retry: retryRequest,
      },
    };
  }

  /**
   * Renders an API's template with the call's variables into a chat request for `provider`. With an
   * output schema the reply must be JSON that satisfies it: the provider's structured-output mode is
   * requested when it has one, else the schema travels as an instruction (the pipeline validates the
   * reply and retries once; see the dispatcher).
   */
  renderCall(
    name: string,
    variables: unknown,
    provider: string,
    caller: PromptCaller,
    endpointName: string,
  ): { body: Record<string, unknown>; version: PromptVersion } {
    const api = this.api(name);
    if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
      throw PromptException.invalid('The request body must be a JSON object of template variables.');
    }
    const selector: PromptSelector =
      api.version !== null
        ? { template: api.template, version: api.version }
        : { template: api.template, label: api.label ?? 'production' };
    const { body, version } = this.prompts.render(selector, { variables });
    const request = { ...body, stream: false } as ChatRequest;
    this.shapeForSchema(api, request, provider);
    this.prompts.announce(
      caller,
      endpointName,
      version,
      api.version === null ? (api.label ?? 'production') : null,
      'api',
    );
    return { body: request, version };
  }

  private shapeForSchema(api: PublishedPromptApi, request: ChatRequest, provider: string): void {
    if (!api.outputSchema) return;
    if (api.structuredOutput && STRUCTURED_OUTPUT_PROVIDERS.has(provider)) {
      request.response_format = {
        type: 'json_schema',
        json_schema: {
          name: api.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64),
          schema: api.outputSchema,
          strict: false,
        },
      };
      return;
    }
    // Without a structured-output mode the schema travels as an instruction; validation still applies.
    const instruction: ChatMessage = {
      role: 'system',
      content: `Reply with only a JSON value (no prose, no code fence) that satisfies this JSON Schema: ${JSON.stringify(api.outputSchema)}`,
    };
    const firstTurn = request.messages.findIndex((m) => m.role !== 'system');
    const at = firstTurn === -1 ? request.messages.length : firstTurn;
    request.messages = [...request.messages.slice(0, at), instruction, ...request.messages.slice(at)];
  }

  /** The live published API, for the OpenAPI document. */
  published(): PublishedPromptApi[] {
    return [...this.holder.current.apis.values()];
  }

  private api(name: string): PublishedPromptApi {
    checkName(name);
    const api = this.holder.current.apis.get(name);
    if (!api) throw PromptException.notFound(`Prompt API '${name}'`);
    return api;
  }
}

/** The retry request after a reply failed the API's output schema: the problem explained. */
function retryRequest(request: ChatRequest, reply: string, problem: string): ChatRequest {
  return {
    ...request,
    messages: [
      ...request.messages,
      { role: 'assistant', content: reply },
      {
        role: 'user',
        content: `That reply was rejected: ${problem}. Answer again with only a JSON value that satisfies the JSON Schema, without any other text.`,
      },
    ],
  };
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw PromptException.notFound('Prompt API');
}

function apiEvent(action: string, name: string, teamId: OwnerTeam, before: unknown, after: unknown) {
  return {
    action: `prompts.api.${action}`,
    targetType: 'prompts.api',
    targetId: name,
    teamId,
    before,
    after,
  };
}
