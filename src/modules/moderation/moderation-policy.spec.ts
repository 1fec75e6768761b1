import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Principal } from 'src/common/auth/principal';
import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { compileOverride, resolvePolicy, TeamOverride } from 'src/modules/moderation/moderation-policy.store';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { buildRouteTable, EndpointEntry, RouteTable } from 'src/modules/routing/route-table';
import { principalFixture } from 'test/fixtures/principal.fixture';

const registry = new ProviderRegistry();

function table(yaml: string): RouteTable {
  const config = parseGatewayConfig(yaml, {
    env: { KEY: 'sk-test' },
    knownProviders: registry.knownProviders(),
    baseDir: '/tmp',
  });
  return buildRouteTable(config, registry, 'rev');
}

function problems(yaml: string): string[] {
  try {
    table(yaml);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  return [];
}

const endpoint = (name: string, extra = '') => `
  - name: ${name}
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini, config: {openai_api_key: $KEY}}
${extra}`;

const YAML = `
gatehouse:
  moderation:
    default: standard
    policies:
      standard:
        input:
          - {type: pii, action: redact, mode: placeholder}
          - {type: injection, threshold: 0.5}
        output:
          - {type: pii, action: redact}
      strict:
        input:
          - {type: pii, action: block, entities: [card, iban, ssn]}
          - {type: deny-list, keywords: [project nightingale], profanity: true}
    teams:
      risk: {open: standard}
      audit: {'*': strict}
endpoints:
${endpoint('plain')}
${endpoint('guarded', '    gatehouse:\n      moderation: strict')}
${endpoint('open', '    gatehouse:\n      moderation: none')}
${endpoint('inline', '    gatehouse:\n      moderation:\n        output: [{type: deny-list, patterns: ["internal-\\\\d+"]}]')}
`;

function principal(teamId: string | null): Principal {
  return principalFixture({ id: `p-${teamId}`, teamId });
}

function overrides(
  t: RouteTable,
  teamId: string,
  entries: Record<string, unknown>,
): Map<string, TeamOverride> {
  const map = new Map<string, TeamOverride>();
  for (const [endpointName, raw] of Object.entries(entries)) {
    const o = compileOverride(teamId, endpointName, raw, { updatedBy: null, updatedAt: new Date(0) });
    if ('problems' in o) throw new Error(o.problems.join());
    map.set(endpointName, o);
  }
  void t;
  return map;
}

describe('guardrail policies from gateway.yaml', () => {
  const t = table(YAML);
  const get = (name: string) => t.get(name) as EndpointEntry;

  it('attaches the default, a named, no and an inline policy to endpoints', () => {
    expect(get('plain').moderation?.name).toBe('standard');
    expect(get('guarded').moderation?.name).toBe('strict');
    expect(get('open').moderation).toBeUndefined();
    expect(get('inline').moderation?.name).toBe('endpoint:inline');
    expect(get('inline').moderation?.output.map((c) => c.type)).toEqual(['deny-list']);
    expect(get('plain').moderation?.input.map((c) => `${c.type}:${c.name}`)).toEqual([
      'pii:pii',
      'injection:injection',
    ]);
    expect([...t.moderation.policies.keys()]).toEqual(['standard', 'strict']);
  });

  it('rejects unknown keys, unknown policies and dangerous regexes with every problem listed', () => {
    const found = problems(`
gatehouse:
  moderation:
    default: missing
    policies:
      p:
        input:
          - {type: pii, acton: block}
          - {type: deny-list, patterns: ["(a)\\\\1", "("]}
          - {type: injection, threshold: 2}
endpoints:
${endpoint('x', '    gatehouse:\n      moderation: nope')}
`);
    expect(found).toEqual([
      '(top level): gatehouse.moderation.policies.p.input[0]: Unrecognized key: "acton"',
      '(top level): gatehouse.moderation.policies.p.input[1].patterns[0]: pattern is not a valid RE2 regular expression (linear-time syntax: no backreferences or lookaround): error parsing regexp: invalid escape sequence: `\\1`',
      '(top level): gatehouse.moderation.policies.p.input[1].patterns[1]: pattern is not a valid RE2 regular expression (linear-time syntax: no backreferences or lookaround): error parsing regexp: missing closing ): `(?i)(`',
      '(top level): gatehouse.moderation.policies.p.input[2].threshold: Too big: expected number to be <=1',
      "endpoints[0] (x): gatehouse.moderation: unknown policy 'nope'.",
    ]);
    expect(
      problems(`
gatehouse:
  moderation:
    policies: {p: {input: [{type: injection}]}}
    teams:
      risk: {ghost: p, x: missing}
endpoints:
${endpoint('x')}
`),
    ).toEqual([
      "(top level): gatehouse.moderation.teams.risk.x: unknown policy 'missing'.",
      "(top level): gatehouse.moderation.teams.risk: unknown endpoint 'ghost'.",
    ]);
  });

  it('accepts the example in docs/guardrails.md', () => {
    const page = readFileSync(join(__dirname, '../../../docs/guardrails.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(page)![1].replaceAll('$OPENAI_API_KEY', '$KEY');
    const t = table(yaml);
    expect((t.get('checkout-assistant') as EndpointEntry).moderation?.name).toBe('payments');
    expect((t.get('chat') as EndpointEntry).moderation?.name).toBe('standard');
    expect((t.get('guard') as EndpointEntry).moderation).toBeUndefined();
  });

  it('requires external checks to name a chat endpoint of the file', () => {
    expect(
      problems(`
gatehouse:
  moderation:
    policies:
      judged:
        input: [{type: external, endpoint: no-such-judge}]
endpoints:
${endpoint('x', '    gatehouse:\n      moderation: judged')}
`),
    ).toEqual([
      "gatehouse.moderation: policy 'judged': check 'external' names 'no-such-judge', which is not a chat endpoint or route.",
    ]);
  });

  it('resolves per team: endpoint override, then all-endpoints override, then the endpoint policy', () => {
    const byTeam: Record<string, Map<string, TeamOverride>> = {
      risk: overrides(t, 'risk', { '*': 'strict' }),
      research: overrides(t, 'research', { plain: 'none', '*': 'strict' }),
      support: overrides(t, 'support', {
        guarded: { input: [{ type: 'pii', action: 'redact', entities: ['email'] }] },
      }),
      stale: overrides(t, 'stale', { plain: 'removed-policy' }),
      // The admin override (DB) wins over the file's choice for the same team.
      audit: overrides(t, 'audit', { plain: 'none' }),
    };
    const resolve = (p: Principal | undefined, name: string) => {
      const teamId = p?.teamId;
      const r = resolvePolicy(t, get(name), teamId, teamId ? byTeam[teamId] : undefined);
      return `${r.policy?.name ?? '-'} (${r.source})`;
    };
    const anonymous = undefined;
    expect(resolve(anonymous, 'plain')).toBe('standard (endpoint)');
    expect(resolve(principal(null), 'plain')).toBe('standard (endpoint)');
    expect(resolve(principal('unknown-team'), 'guarded')).toBe('strict (endpoint)');
    expect(resolve(principal('risk'), 'plain')).toBe('strict (team-all)');
    expect(resolve(principal('risk'), 'open')).toBe('strict (team-all)');
    // Choices in gateway.yaml apply when the admin API has none for the team.
    expect(resolve(principal('audit'), 'open')).toBe('strict (file-team-all)');
    expect(resolve(principal('audit'), 'guarded')).toBe('strict (file-team-all)');
    expect(resolve(principal('research'), 'plain')).toBe('- (team-endpoint)');
    expect(resolve(principal('research'), 'guarded')).toBe('strict (team-all)');
    expect(resolve(principal('support'), 'guarded')).toBe('team:support:guarded (team-endpoint)');
    expect(resolve(principal('support'), 'plain')).toBe('standard (endpoint)');
    // A team override naming a policy removed from the file falls back to the endpoint's own policy.
    expect(resolve(principal('stale'), 'plain')).toBe('standard (endpoint)');
    expect(resolve(principal('audit'), 'plain')).toBe('- (team-endpoint)');
  });

  it('refuses invalid overrides with the same messages as the file', () => {
    expect(
      compileOverride(
        't',
        '*',
        { input: [{ type: 'pii', mode: 'hash' }] },
        { updatedBy: null, updatedAt: new Date() },
      ),
    ).toEqual({
      problems: ['policy.input[0].mode: Invalid option: expected one of "mask"|"placeholder"'],
    });
    expect(compileOverride('t', '*', 42, { updatedBy: null, updatedAt: new Date() })).toEqual({
      problems: ['policy: Invalid input: expected object, received number'],
    });
  });
});
