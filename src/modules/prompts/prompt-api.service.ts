import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
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
  ) {}

  list(): PromptApiDto[] {
    return [...this.holder.current.apis.values()].sort((a, b) => a.name.localeCompare(b.name)).map(toApiDto);
  }

  get(name: string): PromptApiDto {
    return toApiDto(this.api(name));
  }

  async publish(name: string, body: unknown): Promise<PromptApiDto> {
    checkName(name);
    const input = parseBody(PublishApiSchema, body);
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
    if (input.output_schema) this.validator.assertValidSchema(input.output_schema);
    await this.repository.upsertApi({
      name,
      templateName: input.template,
      label: 'label' in selector ? selector.label : null,
      version: 'version' in selector ? selector.version : null,
      endpoint: input.endpoint,
      description: input.description,
      outputSchema: input.output_schema,
      structuredOutput: input.structured_output,
    });
    await this.events.emitAsync(PROMPTS_CHANGED, new PromptsChangedEvent(input.template));
    return this.get(name);
  }

  async unpublish(name: string): Promise<void> {
    checkName(name);
    await this.repository.deleteApi(name);
    await this.events.emitAsync(PROMPTS_CHANGED, new PromptsChangedEvent(null));
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
