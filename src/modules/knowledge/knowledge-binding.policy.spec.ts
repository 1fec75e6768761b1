import { EntityManager } from 'typeorm';
import { Principal } from 'src/common/auth/principal';
import { TENANCY_ALL } from 'src/common/auth/tenancy.policy';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { KnowledgeBindingPolicy } from 'src/modules/knowledge/knowledge-binding.policy';
import { KnowledgeRepository } from 'src/modules/knowledge/knowledge.repository';
import { PromptBindingPolicy } from 'src/modules/prompts/prompt-binding.policy';
import { ConfigEntryChecks } from 'src/modules/routing/admin/config-entry-checks';
import { principalFixture } from 'test/fixtures/principal.fixture';

function principal(teamId: string | null, admin = false): Principal {
  return principalFixture({
    id: `p-${teamId}`,
    kind: 'user',
    name: 'someone',
    teamId,
    permissions: new Set(admin ? [TENANCY_ALL] : []),
  });
}

const kbOwners: Record<string, string | null> = { 'kb-a': 'A', 'kb-b': 'B', 'kb-global': null };
const repository = {
  findByName: (name: string) =>
    Promise.resolve(name in kbOwners ? { name, ownerTeamId: kbOwners[name] } : undefined),
} as unknown as KnowledgeRepository;
const templates: string[] = [];
const prompts = {
  assertBindable: (_owner: string | null, template: string) => templates.push(template),
} as unknown as PromptBindingPolicy;
const endpointOwners: Record<string, string | null> = {
  'chat-a': 'A',
  'chat-b': 'B',
  chat: null,
  embed: null,
};

const checks = new ConfigEntryChecks();
const policy = new KnowledgeBindingPolicy(checks, repository, prompts);
policy.onModuleInit();

function change(who: Principal, gatehouse: Record<string, unknown>, before?: Record<string, unknown>) {
  return policy.check({
    principal: who,
    name: 'ep',
    owner: who.teamId,
    before,
    after: gatehouse,
    next: { name: 'ep', gatehouse },
    manager: {} as EntityManager,
    endpointOwner: (name) => (name in endpointOwners ? endpointOwners[name] : undefined),
  });
}

const rag = (kb: string, llm = 'chat') => ({
  rag: { knowledge_base: kb, template: 'answer', llm_endpoint: llm },
});

async function status(promise: Promise<void>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayException);
    return (error as GatewayException).status;
  }
}

describe('KnowledgeBindingPolicy (gatehouse.rag and gatehouse.cache.semantic on admin-API endpoints)', () => {
  it('registers with the routing admin checks', () => {
    expect(checks.owners).toEqual(['knowledge']);
  });

  it('lets a team use its own and global knowledge bases and endpoints, and checks the template', async () => {
    expect(await status(change(principal('A'), rag('kb-a', 'chat-a')))).toBe(200);
    expect(await status(change(principal('A'), rag('kb-global')))).toBe(200);
    expect(templates).toEqual(['answer', 'answer']);
    expect(
      await status(change(principal('A'), { cache: { semantic: { embedding_endpoint: 'embed' } } })),
    ).toBe(200);
  });

  it("refuses another team's knowledge base like a missing one (400)", async () => {
    expect(await status(change(principal('A'), rag('kb-b')))).toBe(400);
    expect(await status(change(principal('A'), rag('kb-nosuch')))).toBe(400);
  });

  it("keeps another team's LLM or embeddings endpoint admin-only (403): its credentials would be spent", async () => {
    expect(await status(change(principal('A'), rag('kb-a', 'chat-b')))).toBe(403);
    expect(
      await status(change(principal('A'), { cache: { semantic: { embedding_endpoint: 'chat-b' } } })),
    ).toBe(403);
    expect(await status(change(principal(null, true), rag('kb-b', 'chat-b')))).toBe(200);
  });

  it('lets an entry keep the knowledge base it already named', async () => {
    expect(await status(change(principal('A'), rag('kb-gone'), rag('kb-gone')))).toBe(200);
  });
});
