import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import { ChatMessage } from 'src/modules/providers/provider-adapter';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { PROMPT_RENDERED, PromptRenderedEvent } from 'src/modules/prompts/prompt.events';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { renderPrompt } from 'src/modules/prompts/prompt-renderer';
import { PromptSelector, PromptVersion } from 'src/modules/prompts/prompt.types';

type Body = Record<string, unknown>;

/** Who a template is rendered for: the request id and principal (ledger event), and where headers go. */
export interface PromptCaller {
  readonly requestId: string;
  readonly principal: Principal | undefined;
  header(name: string, value: string): void;
}

export interface RenderedRequest {
  body: Body;
  version: PromptVersion;
}

/** The request-path façade: wraps requests to template-bound endpoints. Reads only the in-memory catalog. */
@Injectable()
export class PromptService {
  constructor(
    private readonly holder: PromptCatalogHolder,
    private readonly events: EventEmitter2,
    private readonly routes: RouteConfigService,
  ) {}

  /**
   * For an endpoint with `gatehouse.prompt`: renders the pinned version with the caller's `variables`
   * and puts its messages first, followed by any messages the caller sent; the template's params are
   * defaults the caller may override. Other endpoints get the body unchanged (`variables` is refused).
   */
  apply(
    endpoint: { name: string; prompt?: PromptSelector },
    body: Body,
    caller: PromptCaller,
  ): { body: Body; version?: PromptVersion } {
    if (!endpoint.prompt) {
      if (body.variables !== undefined) {
        throw PromptException.invalid(
          `Endpoint '${endpoint.name}' has no prompt template, so 'variables' is not accepted.`,
          'variables',
        );
      }
      return { body };
    }
    const { body: rendered, version } = this.render(
      endpoint.prompt,
      body,
      this.routes.ownerOf(endpoint.name),
    );
    this.announce(
      caller,
      endpoint.name,
      version,
      'label' in endpoint.prompt ? endpoint.prompt.label : null,
      'endpoint',
    );
    return { body: rendered, version };
  }

  /** Tells the caller (headers) and the usage ledger (event) which template version answered. */
  announce(
    caller: PromptCaller,
    endpointName: string,
    version: { template: string; version: number },
    label: string | null,
    via: PromptRenderedEvent['via'],
  ): void {
    caller.header('x-gatehouse-prompt', version.template);
    caller.header('x-gatehouse-prompt-version', String(version.version));
    const principal = caller.principal;
    this.events.emit(
      PROMPT_RENDERED,
      new PromptRenderedEvent(
        caller.requestId,
        endpointName,
        version.template,
        version.version,
        label,
        via,
        principal?.id ?? null,
        principal?.teamId ?? null,
      ),
    );
  }

  /**
   * Resolves a selector against the live catalog and renders it into a chat request body. `owner`: the
   * team owning the bound endpoint (null: global); a template of another team is treated as missing,
   * should a name an endpoint bound have been deleted and taken by another team since.
   */
  render(selector: PromptSelector, body: Body, owner: string | null = null): RenderedRequest {
    const version = this.holder.current.resolve(selector);
    const templateOwner = version
      ? (this.holder.current.templates.get(selector.template)?.teamId ?? null)
      : null;
    if (!version || (owner !== null && templateOwner !== null && templateOwner !== owner)) {
      const which = 'label' in selector ? `label '${selector.label}'` : `version ${selector.version}`;
      throw PromptException.unavailable(
        `Prompt template '${selector.template}' (${which}) is not available; ask an administrator.`,
      );
    }
    const { variables, messages, ...rest } = body;
    if (messages !== undefined && !Array.isArray(messages)) {
      throw PromptException.invalid("'messages' must be a list.", 'messages');
    }
    const own = (messages ?? []) as ChatMessage[];
    return {
      body: { ...version.params, ...rest, messages: [...renderPrompt(version, variables), ...own] },
      version,
    };
  }
}
