import { ModelDeclaration } from 'src/modules/routing/route-table';
import { parseModelUri } from 'src/config/model-uri';
import {
  HealthState,
  probesOf,
  ResolveOptions,
  resolveCandidates,
  toEntries,
} from 'src/modules/registry/model-endpoint.resolver';
import { RegistryModel, RegistryVersion } from 'src/modules/registry/registry.types';

function version(n: string, extra: Partial<RegistryVersion> = {}): RegistryVersion {
  return {
    version: n,
    status: 'READY',
    stage: 'None',
    aliases: [],
    tags: { 'gatehouse.serving_url': `http://score-${n}:8080/` },
    source: null,
    runId: null,
    createdAt: null,
    ...extra,
  };
}

function model(name: string, extra: Partial<RegistryModel> = {}): RegistryModel {
  return { name, description: null, tags: {}, aliases: {}, versions: [], updatedAt: null, ...extra };
}

function declared(name: string, uri: string, extra: Partial<ModelDeclaration> = {}): ModelDeclaration {
  const reference = parseModelUri(uri);
  if (typeof reference === 'string') throw new Error(reference);
  return {
    name,
    modelUri: uri,
    reference,
    limit: null,
    path: undefined,
    servingUrlTemplate: undefined,
    timeoutMs: undefined,
    ...extra,
  };
}

const churn = model('churn', {
  aliases: { champion: '1', challenger: '3' },
  versions: [
    version('1'),
    version('2', { stage: 'Production' }),
    version('3', { status: 'PENDING_REGISTRATION' }),
    version('4', { stage: 'Production', tags: {} }),
  ],
});

function options(models: RegistryModel[], extra: Partial<ResolveOptions> = {}): ResolveOptions {
  return {
    snapshot: { models, hash: 'h', syncedAt: '2026-11-25T00:00:00.000Z' },
    reservedNames: new Set(),
    servingUrlTag: 'gatehouse.serving_url',
    servingUrlTemplate: undefined,
    exposeTag: 'gatehouse.expose',
    exposeAlias: 'champion',
    defaultTimeoutMs: 60_000,
    ...extra,
  };
}

const up = (): HealthState => 'up';

describe('predict endpoint resolution', () => {
  it('follows aliases, versions and stages to a READY version and its serving URL', () => {
    const [alias, pinned, stage] = resolveCandidates(
      [
        declared('a', 'models:/churn@champion'),
        declared('v', 'models:/churn/2'),
        declared('s', 'models:/churn/Production'),
      ],
      options([churn], { servingUrlTemplate: 'http://{name}-{version}.svc' }),
    );
    expect(alias.target).toEqual({ version: '1', url: 'http://score-1:8080', restricted: true });
    expect(pinned.target).toEqual({ version: '2', url: 'http://score-2:8080', restricted: true });
    // Newest READY version in the stage; it has no tag, so the template applies.
    expect(stage.target).toEqual({ version: '4', url: 'http://churn-4.svc' });
  });

  it('explains why an endpoint cannot be served', () => {
    const unavailable = resolveCandidates(
      [
        declared('a', 'models:/churn@challenger'),
        declared('b', 'models:/churn@missing'),
        declared('c', 'models:/nope/1'),
        declared('d', 'models:/churn/4'),
        declared('e', 'models:/churn/Staging'),
      ],
      options([churn]),
    ).map((c) => c.unavailable);
    expect(unavailable).toEqual([
      'models:/churn@challenger cannot be served: version 3 is PENDING_REGISTRATION; only READY versions are routable.',
      "models:/churn@missing cannot be served: alias 'missing' is not set on 'churn'.",
      "models:/nope/1 cannot be served: registered model 'nope' does not exist in the registry.",
      "models:/churn/4 cannot be served: version 4 has no serving address (set its 'gatehouse.serving_url' tag or a serving_url_template).",
      "models:/churn/Staging cannot be served: no READY version is in stage 'Staging'.",
    ]);
    const [none] = resolveCandidates([declared('a', 'models:/churn/1')], {
      ...options([]),
      snapshot: undefined,
    });
    expect(none.unavailable).toBe(
      'models:/churn/1 cannot be served: the model registry has not been synced yet.',
    );
  });

  it('auto-exposes tagged models after their alias (or newest READY version), never over a configured name', () => {
    const tagged = model('fraud', {
      tags: { 'gatehouse.expose': 'TRUE', 'gatehouse.path': '/predict/fraud' },
      versions: [version('1'), version('2'), version('3', { status: 'FAILED_REGISTRATION' })],
    });
    const aliased = model('ranker', {
      tags: { 'gatehouse.expose': 'true', 'gatehouse.alias': 'prod' },
      aliases: { prod: '1' },
      versions: [version('1'), version('2')],
    });
    const taken = model('chat', { tags: { 'gatehouse.expose': 'true' }, versions: [version('1')] });
    const untagged = model('hidden', { versions: [version('1')] });
    const badName = model('has space', { tags: { 'gatehouse.expose': 'true' }, versions: [version('1')] });
    const candidates = resolveCandidates(
      [],
      options([tagged, aliased, taken, untagged, badName], { reservedNames: new Set(['chat']) }),
    );
    expect(candidates.map((c) => [c.name, c.origin, c.modelUri, c.target?.version, c.path])).toEqual([
      ['fraud', 'auto', 'models:/fraud/2', '2', '/predict/fraud'],
      ['ranker', 'auto', 'models:/ranker@prod', '1', undefined],
    ]);
  });

  it('refuses serving addresses outside the allowed hosts', () => {
    const [allowed, refused] = resolveCandidates(
      [declared('a', 'models:/churn/1'), declared('b', 'models:/churn/2')],
      options(
        [
          model('churn', {
            versions: [
              version('1', { tags: { 'gatehouse.serving_url': 'http://scoring.svc:8080' } }),
              version('2', { tags: { 'gatehouse.serving_url': 'http://169.254.169.254/latest' } }),
            ],
          }),
        ],
        { allowedHosts: new Set(['scoring.svc']) },
      ),
    );
    expect(allowed.target?.url).toBe('http://scoring.svc:8080');
    expect(refused.unavailable).toBe(
      'models:/churn/2 cannot be served: version 2 is served from a host outside REGISTRY_SERVING_HOSTS.',
    );
  });

  it('sends addresses the host operator did not write through the allow-listed pool', () => {
    const tagged = version('1', { tags: { 'gatehouse.serving_url': 'http://scoring.svc:8080' } });
    const untagged = version('2', { tags: {} });
    const registry = [model('churn', { versions: [tagged, untagged] })];
    const decls = [
      declared('tag', 'models:/churn/1'),
      declared('yaml-template', 'models:/churn/2', { servingUrlTemplate: 'http://yaml.svc/{version}' }),
      declared('api-template', 'models:/churn/2', {
        servingUrlTemplate: 'http://api.svc/{version}',
        restrictedEgress: true,
      }),
      // An admin-API endpoint with no template of its own falls back to the operator's default.
      declared('api-default', 'models:/churn/2', { restrictedEgress: true }),
    ];
    const open = resolveCandidates(decls, options(registry, { servingUrlTemplate: 'http://default.svc' }));
    expect(open.map((c) => [c.name, c.target?.url, c.target?.restricted === true])).toEqual([
      ['tag', 'http://scoring.svc:8080', true],
      ['yaml-template', 'http://yaml.svc/2', false],
      ['api-template', 'http://api.svc/2', true],
      ['api-default', 'http://default.svc', false],
    ]);
    // REGISTRY_SERVING_HOSTS vetted the tag's host: the operator's pool.
    const vetted = resolveCandidates(
      [decls[0]],
      options(registry, { allowedHosts: new Set(['scoring.svc:8080']) }),
    );
    expect(vetted[0].target).toMatchObject({ url: 'http://scoring.svc:8080' });
    expect(vetted[0].target?.restricted).toBeUndefined();
    const probes = probesOf(open);
    expect(probes.map((p) => [p.url, p.restricted])).toEqual([
      ['http://scoring.svc:8080', true],
      ['http://yaml.svc/2', false],
      ['http://api.svc/2', true],
      ['http://default.svc', false],
    ]);
  });

  it('does not route to a version whose scoring server failed its health check', () => {
    const candidates = resolveCandidates([declared('a', 'models:/churn@champion')], options([churn]));
    const [healthy] = toEntries(candidates, up);
    expect(healthy).toMatchObject({ kind: 'model', target: { version: '1' }, unavailable: undefined });
    const [down] = toEntries(candidates, () => 'down');
    expect(down.target).toBeUndefined();
    expect(down.unavailable).toBe(
      "Model 'churn' version 1 (endpoint 'a') is unavailable: its scoring server failed its health check.",
    );
    expect(toEntries(candidates, () => 'unknown')[0].target?.version).toBe('1');
  });

  it('carries the cache policy: a declaration its own, an auto-exposed model the top-level defaults', () => {
    const exposed = model('fraud', {
      tags: { 'gatehouse.expose': 'true' },
      aliases: { champion: '1' },
      versions: [version('1')],
    });
    const entries = toEntries(
      resolveCandidates(
        [
          declared('cached', 'models:/churn/1', { cache: { scope: 'key' } }),
          declared('plain', 'models:/churn/1'),
        ],
        options([churn, exposed], { cacheDefaults: { ttlSeconds: 5 } }),
      ),
      up,
    );
    expect(entries.map((e) => [e.name, e.cache])).toEqual([
      ['cached', { scope: 'key' }],
      ['plain', undefined],
      ['fraud', { ttlSeconds: 5 }],
    ]);
  });
});
