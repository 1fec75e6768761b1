import {
  combineConfigText,
  ConfigEntry,
  fileEntriesOf,
  literalSecretProblems,
  maskSecrets,
} from 'src/modules/routing/admin/config-entries';
import { parse } from 'yaml';

const entry = (kind: ConfigEntry['kind'], body: Record<string, unknown>): ConfigEntry => ({
  kind,
  name: body.name as string,
  body,
  revision: 1,
  updatedBy: null,
  updatedAt: new Date(0),
});

const FILE = `
defaults: &defaults
  endpoint_type: llm/v1/chat
endpoints:
  - <<: *defaults
    name: a
    model: { provider: openai, name: gpt-4o, config: { openai_api_key: sk-literal } }
gatehouse:
  cache: { ttl_seconds: 60 }
`;

describe('combining gateway.yaml with API entries', () => {
  it('returns the file untouched without API entries', () => {
    expect(combineConfigText(FILE, [])).toBe(FILE);
  });

  it('appends API entries to the file lists, keeping merge keys and top-level extensions', () => {
    const combined = parse(
      combineConfigText(FILE, [
        entry('endpoint', { name: 'b', endpoint_type: 'llm/v1/chat' }),
        entry('route', { name: 'r', task_type: 'llm/v1/chat', destinations: [] }),
      ]),
    ) as Record<string, { name: string; endpoint_type?: string }[]>;
    expect(combined.endpoints.map((e) => [e.name, e.endpoint_type])).toEqual([
      ['a', 'llm/v1/chat'],
      ['b', 'llm/v1/chat'],
    ]);
    expect(combined.routes.map((r) => r.name)).toEqual(['r']);
    expect(combined.gatehouse).toEqual({ cache: { ttl_seconds: 60 } });
  });

  it('leaves a file that does not parse to the loader', () => {
    const broken = 'endpoints: [\n';
    expect(combineConfigText(broken, [entry('endpoint', { name: 'b' })])).toBe(broken);
    expect(fileEntriesOf(broken)).toEqual({ endpoints: [], routes: [] });
  });

  it('lists the entries the file declares', () => {
    expect(fileEntriesOf(FILE).endpoints.map((e) => e.name)).toEqual(['a']);
  });
});

describe('secrets in API entries', () => {
  it('accepts references and refuses literal keys at any depth', () => {
    expect(
      literalSecretProblems({
        model: { config: { openai_api_key: '$OPENAI_API_KEY', api_key: '$secret:groq' } },
      }),
    ).toEqual([]);
    const problems = literalSecretProblems({
      model: { config: { openai_api_key: 'sk-123', aws_config: { aws_secret_access_key: 'abc' } } },
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('model.config.openai_api_key');
    expect(problems.join(' ')).not.toContain('sk-123');
  });

  it('masks literal keys of file entries and keeps references', () => {
    expect(
      maskSecrets({ model: { config: { openai_api_key: 'sk-123', anthropic_api_key: '$K', x: 1 } } }),
    ).toEqual({
      model: { config: { openai_api_key: '***', anthropic_api_key: '$K', x: 1 } },
    });
  });
});
