import { Injectable, OnModuleInit } from '@nestjs/common';
import { OwnerTeam, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { readRagSettings } from 'src/config/extensions/rag-settings.config';
import { KnowledgeException } from 'src/modules/knowledge/knowledge.exception';
import { KnowledgeRepository } from 'src/modules/knowledge/knowledge.repository';
import { PromptBindingPolicy } from 'src/modules/prompts/prompt-binding.policy';
import { ConfigEntryChange, ConfigEntryChecks } from 'src/modules/routing/admin/config-entry-checks';

/**
 * What an admin-API endpoint may name through `gatehouse.rag` and `gatehouse.cache.semantic`, for a
 * non-admin: a knowledge base, an LLM endpoint and an embeddings endpoint that are global or its own
 * team's, and a template it may bind. A RAG endpoint calls its LLM endpoint with that endpoint's
 * credentials, so another team's would spend that team's provider key (admin-only, as a route to another
 * team's endpoint is); another team's knowledge base would hand its passages to the caller (answered
 * like a missing one, so names are no oracle).
 */
@Injectable()
export class KnowledgeBindingPolicy implements OnModuleInit {
  constructor(
    private readonly checks: ConfigEntryChecks,
    private readonly repository: KnowledgeRepository,
    private readonly prompts: PromptBindingPolicy,
  ) {}

  onModuleInit(): void {
    this.checks.register('knowledge', (change) => this.check(change));
  }

  async check(change: ConfigEntryChange): Promise<void> {
    const { principal, owner, before, after, manager } = change;
    if (TenancyPolicy.isAdmin(principal)) return;
    const semantic = semanticEndpoint(after?.cache);
    if (semantic !== undefined) this.assertOwnEndpoint(change, semantic, 'gatehouse.cache.semantic');
    const { settings } = readRagSettings(after?.rag);
    if (!settings) return;
    const previous = readRagSettings(before?.rag).settings;
    this.assertOwnEndpoint(change, settings.llmEndpoint, 'gatehouse.rag.llm_endpoint');
    this.prompts.assertBindable(owner, settings.template.template, previous?.template.template);
    if (previous?.knowledgeBase === settings.knowledgeBase) return;
    const kb = await this.repository.findByName(settings.knowledgeBase, manager);
    if (!kb || !sameTeam(kb.ownerTeamId, owner)) {
      throw KnowledgeException.invalid(
        `'gatehouse.rag.knowledge_base': there is no knowledge base '${settings.knowledgeBase}' your team may use.`,
        'gatehouse.rag.knowledge_base',
      );
    }
  }

  private assertOwnEndpoint(change: ConfigEntryChange, endpoint: string, where: string): void {
    const target = change.endpointOwner(endpoint);
    if (target !== undefined && !sameTeam(target, change.owner)) {
      TenancyPolicy.assertAdminOnly(
        change.principal,
        `'${where}' on another team's endpoint ('${endpoint}')`,
      );
    }
  }
}

/** Global objects (null) may be used by any team; a team's only by itself. */
function sameTeam(objectOwner: OwnerTeam, entryOwner: OwnerTeam): boolean {
  return objectOwner === null || objectOwner === entryOwner;
}

function semanticEndpoint(cache: unknown): string | undefined {
  if (typeof cache !== 'object' || cache === null) return undefined;
  const semantic = (cache as Record<string, unknown>).semantic;
  if (typeof semantic !== 'object' || semantic === null) return undefined;
  const endpoint = (semantic as Record<string, unknown>).embedding_endpoint;
  return typeof endpoint === 'string' ? endpoint : undefined;
}
