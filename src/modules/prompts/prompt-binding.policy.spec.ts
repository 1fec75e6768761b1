import { EntityManager } from 'typeorm';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import { TENANCY_ALL } from 'src/common/auth/tenancy.policy';
import { ConfigEntryChecks } from 'src/modules/routing/admin/config-entry-checks';
import { RouteConfigService } from 'src/modules/routing/route-config.service';
import { PromptBindingPolicy } from 'src/modules/prompts/prompt-binding.policy';
import { PromptCatalog } from 'src/modules/prompts/prompt-catalog';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { PromptException } from 'src/modules/prompts/prompt.exception';
import { PromptService } from 'src/modules/prompts/prompt.service';
import { PromptTemplate } from 'src/modules/prompts/prompt.types';
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

function template(name: string, teamId: string | null): PromptTemplate {
  const version = {
    template: name,
    version: 1,
    messages: [{ role: 'user' as const, content: `from ${name}` }],
    variables: [],
    params: {},
    commitMessage: '',
    createdBy: null,
    createdAt: new Date(0),
  };
  return {
    id: name,
    name,
    description: '',
    versions: new Map([[1, version]]),
    labels: new Map([['production', 1]]),
    latestVersion: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    teamId,
  };
}

function holderWith(...templates: PromptTemplate[]): PromptCatalogHolder {
  const holder = Object.create(PromptCatalogHolder.prototype) as PromptCatalogHolder;
  holder.current = new PromptCatalog(new Map(templates.map((t) => [t.name, t])), new Map());
  return holder;
}

const holder = holderWith(template('mine', 'A'), template('theirs', 'B'), template('shared', null));

describe('PromptBindingPolicy (admin-API endpoints binding gatehouse.prompt)', () => {
  const checks = new ConfigEntryChecks();
  const policy = new PromptBindingPolicy(checks, holder);
  policy.onModuleInit();
  const change = (who: Principal, prompt: unknown, before?: unknown) => () =>
    policy.check({
      principal: who,
      name: 'ep',
      owner: who.teamId,
      before: before === undefined ? undefined : { prompt: before },
      after: { prompt },
      next: { name: 'ep', gatehouse: { prompt } },
      endpointOwner: () => undefined,
      manager: {} as EntityManager,
    });

  it('registers itself with the routing admin checks, which run it', async () => {
    expect(checks.owners).toEqual(['prompts']);
    const run = (template: string) =>
      checks.run({
        principal: principal('A'),
        name: 'ep',
        owner: 'A',
        before: undefined,
        after: { prompt: { template } },
        next: { name: 'ep' },
        endpointOwner: () => undefined,
        manager: {} as EntityManager,
      });
    await expect(run('mine')).resolves.toBeUndefined();
    await expect(run('theirs')).rejects.toBeInstanceOf(PromptException);
  });

  it('lets a team bind its own and global templates, and MLflow registry prompts', () => {
    expect(change(principal('A'), { template: 'mine' })).not.toThrow();
    expect(change(principal('A'), { template: 'shared', version: 1 })).not.toThrow();
    expect(change(principal('A'), 'prompts:/support@champion')).not.toThrow();
    expect(change(principal('A'), undefined)).not.toThrow();
  });

  it("refuses another team's template with the same words as a missing one", () => {
    const messageOf = (run: () => void): string => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(PromptException);
        expect((error as PromptException).status).toBe(400);
        return (error as Error).message.replace(/'[^']*'/g, "'…'");
      }
      throw new Error('expected a refusal');
    };
    const foreign = messageOf(change(principal('A'), { template: 'theirs' }));
    const missing = messageOf(change(principal('A'), { template: 'nosuch' }));
    expect(foreign).toBe(missing);
  });

  it('keeps an entry that already bound a since-deleted template changeable, and lets admins bind any', () => {
    expect(change(principal('A'), { template: 'gone' }, { template: 'gone' })).not.toThrow();
    expect(change(principal('A'), { template: 'theirs' }, { template: 'theirs' })).toThrow(PromptException);
    expect(change(principal(null, true), { template: 'theirs' })).not.toThrow();
  });
});

describe('PromptService at request time', () => {
  const owners: Record<string, string | null> = { 'a-ep': 'A', 'global-ep': null };
  const routes = { ownerOf: (name: string) => owners[name] ?? null } as unknown as RouteConfigService;
  const service = new PromptService(holder, new EventEmitter2(), routes);
  const caller = { requestId: 'r', principal: principal('A'), header: () => undefined };

  it("renders a team endpoint's own template and a global one", () => {
    const own = service.apply(
      { name: 'a-ep', prompt: { template: 'mine', label: 'production' } },
      {},
      caller,
    );
    expect(own.body.messages).toEqual([{ role: 'user', content: 'from mine' }]);
    const global = service.apply({ name: 'a-ep', prompt: { template: 'shared', version: 1 } }, {}, caller);
    expect(global.version?.template).toBe('shared');
  });

  it("treats another team's template as unavailable (a name deleted and taken since it was bound)", () => {
    expect(() =>
      service.apply({ name: 'a-ep', prompt: { template: 'theirs', label: 'production' } }, {}, caller),
    ).toThrow(/not available/);
    // A global (admin-made) endpoint may use any template an admin bound.
    const admin = service.apply(
      { name: 'global-ep', prompt: { template: 'theirs', version: 1 } },
      {},
      caller,
    );
    expect(admin.version?.template).toBe('theirs');
  });
});
