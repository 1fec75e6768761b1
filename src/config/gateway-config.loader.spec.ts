import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { stringify } from 'yaml';

import {
  GatewayConfigParseOptions,
  normaliseProvider,
  parseGatewayConfig,
  renewalPeriodSeconds,
} from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';

const KNOWN_PROVIDERS: ReadonlySet<string> = new Set([
  'openai',
  'azure',
  'anthropic',
  'mlflow-model-serving',
  'amazon-bedrock',
  'bedrock',
  'databricks',
  'groq',
  'vertex-ai',
]);

const DUPLICATE_NAME =
  'Duplicate names found in endpoint / route configurations. Please remove the duplicate endpoint / route ' +
  'name from the configuration to ensure that endpoints / routes are created properly.';

function options(overrides: Partial<GatewayConfigParseOptions> = {}): GatewayConfigParseOptions {
  return {
    env: { OPENAI_API_KEY: 'sk-openai', ANTHROPIC_API_KEY: 'sk-ant' },
    knownProviders: KNOWN_PROVIDERS,
    baseDir: '/nonexistent-gatehouse-config-dir',
    ...overrides,
  };
}

/** A valid endpoint mapping; override any top-level key. */
function endpoint(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'chat',
    endpoint_type: 'llm/v1/chat',
    model: { provider: 'openai', name: 'gpt-4o', config: { openai_api_key: '$OPENAI_API_KEY' } },
    ...overrides,
  };
}

function model(provider: string, config: Record<string, unknown> | undefined): Record<string, unknown> {
  return config === undefined ? { provider, name: 'm' } : { provider, name: 'm', config };
}

function route(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'split',
    task_type: 'llm/v1/chat',
    destinations: [
      { name: 'a', traffic_percentage: 60 },
      { name: 'b', traffic_percentage: 40 },
    ],
    ...overrides,
  };
}

function parse(config: unknown, opts?: Partial<GatewayConfigParseOptions>) {
  return parseGatewayConfig(stringify(config), options(opts));
}

/** The problems a config is rejected with; fails the test if it is accepted. */
function problemsOf(config: unknown, opts?: Partial<GatewayConfigParseOptions>): string[] {
  return problemsOfText(stringify(config), opts);
}

function problemsOfText(text: string, opts?: Partial<GatewayConfigParseOptions>): string[] {
  try {
    parseGatewayConfig(text, options(opts));
  } catch (err) {
    if (err instanceof GatewayConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseGatewayConfig', () => {
  describe('the MLflow example (reference §1.1, tests/gateway/test_gateway_app.py)', () => {
    const text = `
endpoints:
  - name: chat-gpt4
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4, config: {openai_api_key: $OPENAI_API_KEY}}
    limit: {calls: 10, renewal_period: minute}
  - name: chat-gpt5
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-5, config: {openai_api_key: $OPENAI_API_KEY}}
routes:
  - name: traffic_route1
    task_type: llm/v1/chat
    destinations: [{name: chat-gpt4, traffic_percentage: 80}, {name: chat-gpt5, traffic_percentage: 20}]
`;

    it('parses every value', () => {
      const config = parseGatewayConfig(text, options());

      expect(config).toEqual({
        endpoints: [
          {
            name: 'chat-gpt4',
            endpointType: 'llm/v1/chat',
            model: {
              provider: 'openai',
              rawProvider: 'openai',
              name: 'gpt-4',
              config: { openai_api_key: 'sk-openai' },
            },
            limit: { calls: 10, renewal_period: 'minute', key: null },
            extensions: {},
          },
          {
            name: 'chat-gpt5',
            endpointType: 'llm/v1/chat',
            model: {
              provider: 'openai',
              rawProvider: 'openai',
              name: 'gpt-5',
              config: { openai_api_key: 'sk-openai' },
            },
            limit: null,
            extensions: {},
          },
        ],
        routes: [
          {
            name: 'traffic_route1',
            taskType: 'llm/v1/chat',
            routingStrategy: 'TRAFFIC_SPLIT',
            destinations: [
              { name: 'chat-gpt4', trafficPercentage: 80 },
              { name: 'chat-gpt5', trafficPercentage: 20 },
            ],
          },
        ],
        extensions: {},
      });
    });
  });

  describe('a realistic MLflow-shop file', () => {
    const text = `
# Shared defaults through anchors and merge keys, as PyYAML allows.
x-openai: &openai
  provider: openai
  config:
    openai_api_key: $OPENAI_API_KEY
    openai_api_base: https://proxy.internal/v1
gatehouse:
  admin: {enabled: true}
endpoints:
  - name: completions
    endpoint_type: llm/v1/completions
    model:
      <<: *openai
      name: gpt-3.5-turbo-instruct
  - name: claude
    endpoint_type: llm/v1/chat
    model:
      provider: anthropic
      name: claude-3-5-sonnet-latest
      config:
        anthropic_api_key: $ANTHROPIC_API_KEY
        anthropic_version: "2023-06-01"
    limit:
      calls: 100
      renewal_period: hours
      key: user
    gatehouse:
      fallbacks: [completions]
  - name: fraud.scorer_v2
    endpoint_type: llm/v1/completions
    model:
      provider: mlflow-model-serving
      name: fraud-scorer
      config:
        model_server_url: http://scoring.internal:5001
  - name: embeddings
    endpoint_type: llm/v1/embeddings
    model:
      provider: amazon-bedrock
      name: amazon.titan-embed-text-v1
      config:
        aws_config:
          aws_region: eu-west-1
          aws_access_key_id: AKIAEXAMPLE
          aws_secret_access_key: $AWS_SECRET_ACCESS_KEY
`;

    it('parses anchors, nested secrets, limits and extensions', () => {
      const config = parseGatewayConfig(
        text,
        options({
          env: { OPENAI_API_KEY: 'sk-o', ANTHROPIC_API_KEY: 'sk-a', AWS_SECRET_ACCESS_KEY: 'aws-s' },
        }),
      );

      expect(config.extensions).toEqual({ admin: { enabled: true } });
      expect(config.routes).toEqual([]);
      expect(config.endpoints.map((e) => [e.name, e.endpointType, e.model.provider, e.model.name])).toEqual([
        ['completions', 'llm/v1/completions', 'openai', 'gpt-3.5-turbo-instruct'],
        ['claude', 'llm/v1/chat', 'anthropic', 'claude-3-5-sonnet-latest'],
        ['fraud.scorer_v2', 'llm/v1/completions', 'mlflow-model-serving', 'fraud-scorer'],
        ['embeddings', 'llm/v1/embeddings', 'amazon-bedrock', 'amazon.titan-embed-text-v1'],
      ]);
      expect(config.endpoints[0].model.config).toEqual({
        openai_api_key: 'sk-o',
        openai_api_base: 'https://proxy.internal/v1',
      });
      expect(config.endpoints[1].model.config).toEqual({
        anthropic_api_key: 'sk-a',
        anthropic_version: '2023-06-01',
      });
      expect(config.endpoints[1].limit).toEqual({ calls: 100, renewal_period: 'hours', key: 'user' });
      expect(config.endpoints[1].extensions).toEqual({ fallbacks: ['completions'] });
      expect(config.endpoints[2].model.config).toEqual({ model_server_url: 'http://scoring.internal:5001' });
      expect(config.endpoints[3].model.config).toEqual({
        aws_config: {
          aws_region: 'eu-west-1',
          aws_access_key_id: 'AKIAEXAMPLE',
          aws_secret_access_key: 'aws-s',
        },
      });
    });
  });

  describe('YAML and top level', () => {
    it('reports a syntax error once, with its line and column', () => {
      const problems = problemsOfText('endpoints:\n  - name: a\n    model: {provider: openai\n  x: [\n');

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^YAML syntax error at line 4, column 3: /);
    });

    it.each([
      ['an empty file', ''],
      ['a scalar', 'just text'],
      ['a list', '- name: a'],
    ])('rejects %s at the top level', (_label, text) => {
      expect(problemsOfText(text)).toEqual([
        "(top level): The configuration must be a mapping with an 'endpoints' list.",
      ]);
    });

    it('requires endpoints', () => {
      expect(problemsOf({ routes: [] })).toEqual([
        "endpoints: 'endpoints' is required: MLflow gateway files list their endpoints under it (use 'endpoints: []' for none).",
      ]);
    });

    it.each([
      ['null', null],
      ['a mapping', { name: 'a' }],
      ['a string', 'a'],
    ])('rejects endpoints given as %s', (_label, value) => {
      expect(problemsOf({ endpoints: value })).toEqual(["endpoints: 'endpoints' must be a list."]);
    });

    it('rejects routes that are not a list', () => {
      expect(problemsOf({ endpoints: [], routes: { name: 'r' } })).toEqual([
        "routes: 'routes' must be a list.",
      ]);
    });

    it('accepts an empty endpoint list and a null routes key', () => {
      expect(parseGatewayConfig('endpoints: []\nroutes:\n', options())).toEqual({
        endpoints: [],
        routes: [],
        extensions: {},
      });
    });

    it('rejects a pre-2.9 file and points to endpoints / endpoint_type', () => {
      const legacy = {
        routes: [
          {
            name: 'completions',
            route_type: 'llm/v1/completions',
            model: { provider: 'openai', config: { openai_api_key: '$OPENAI_API_KEY' } },
          },
        ],
      };

      const problems = problemsOf(legacy);

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^routes: This is a pre-MLflow-2\.9 configuration/);
      expect(problems[0]).toContain("List them under 'endpoints' and rename 'route_type' to 'endpoint_type'");
    });

    it('ignores unknown keys everywhere, as pydantic extra="ignore" does', () => {
      const config = parse({
        version: 2,
        endpoints: [
          endpoint({
            description: 'ignored',
            model: {
              provider: 'openai',
              name: 'gpt-4o',
              git_location: 'https://example.com',
              config: { openai_api_key: 'sk-literal', temperature: 0.2 },
            },
            limit: { calls: 5, renewal_period: 'second', burst: 10 },
          }),
        ],
      });

      expect(config.extensions).toEqual({});
      expect(config.endpoints[0].extensions).toEqual({});
      expect(config.endpoints[0].limit).toEqual({ calls: 5, renewal_period: 'second', key: null });
      // Unknown config keys are kept for the adapter; the loader does not know provider schemas.
      expect(config.endpoints[0].model.config).toEqual({ openai_api_key: 'sk-literal', temperature: 0.2 });
    });

    it('keeps the last value of a duplicated key, as PyYAML does', () => {
      const config = parseGatewayConfig(
        'endpoints:\n  - name: first\n    name: second\n    endpoint_type: llm/v1/chat\n' +
          '    model: {provider: openai, config: {openai_api_key: k}}\n',
        options(),
      );

      expect(config.endpoints.map((e) => e.name)).toEqual(['second']);
    });

    it('keeps YAML 1.1 booleans and dates as strings (a superset of what PyYAML accepts)', () => {
      const config = parseGatewayConfig(
        'endpoints:\n  - name: on\n    endpoint_type: llm/v1/chat\n' +
          '    model: {provider: openai, name: 2024-01-01, config: {openai_api_key: k}}\n',
        options(),
      );

      expect(config.endpoints[0].name).toBe('on');
      expect(config.endpoints[0].model.name).toBe('2024-01-01');
    });
  });

  describe('endpoint names', () => {
    it.each(['chat', 'chat-gpt4', 'chat_gpt4', 'v1.chat', 'A-Z_0.9'])('accepts %s', (name) => {
      expect(parse({ endpoints: [endpoint({ name })] }).endpoints[0].name).toBe(name);
    });

    it.each(['chat gpt', 'chat/gpt', 'chät', 'a?b', ''])('rejects %j with MLflow’s message', (name) => {
      const at = name === '' ? 'endpoints[0]' : `endpoints[0] (${name})`;
      expect(problemsOf({ endpoints: [endpoint({ name })] })).toEqual([
        `${at}: The route name provided contains disallowed characters for a url endpoint. ` +
          `'${name}' is invalid. Names cannot contain spaces or any non alphanumeric characters other than ` +
          'hyphen and underscore.',
      ]);
    });

    it('requires a string name', () => {
      expect(problemsOf({ endpoints: [endpoint({ name: undefined }), endpoint({ name: 42 })] })).toEqual([
        "endpoints[0]: 'name' is required.",
        "endpoints[1]: 'name' must be a string.",
      ]);
    });

    it('rejects duplicates across endpoints and routes, at every later use', () => {
      const problems = problemsOf({
        endpoints: [endpoint({ name: 'a' }), endpoint({ name: 'b' }), endpoint({ name: 'a' })],
        routes: [route({ name: 'b' })],
      });

      expect(problems).toEqual([`endpoints[2] (a): ${DUPLICATE_NAME}`, `routes[0] (b): ${DUPLICATE_NAME}`]);
    });

    it('rejects an endpoint entry that is not a mapping', () => {
      expect(problemsOf({ endpoints: ['chat'] })).toEqual(['endpoints[0]: An endpoint must be a mapping.']);
    });
  });

  describe('endpoint_type', () => {
    it.each(['llm/v1/completions', 'llm/v1/chat', 'llm/v1/embeddings'])('accepts %s', (type) => {
      expect(parse({ endpoints: [endpoint({ endpoint_type: type })] }).endpoints[0].endpointType).toBe(type);
    });

    it.each(['llm/v1/chat/completions', 'chat', 'LLM/V1/CHAT'])(
      'rejects %s with MLflow’s message',
      (type) => {
        expect(problemsOf({ endpoints: [endpoint({ endpoint_type: type })] })).toEqual([
          `endpoints[0] (chat): The route_type '${type}' is not supported.`,
        ]);
      },
    );

    it('requires it', () => {
      expect(problemsOf({ endpoints: [endpoint({ endpoint_type: undefined })] })).toEqual([
        "endpoints[0] (chat): 'endpoint_type' is required.",
      ]);
    });

    it('rejects the pre-2.9 route_type key, with or without endpoint_type', () => {
      const problems = problemsOf({
        endpoints: [
          endpoint({ name: 'a', endpoint_type: undefined, route_type: 'llm/v1/chat' }),
          endpoint({ name: 'b', route_type: 'llm/v1/chat' }),
        ],
      });

      const message =
        "The 'route_type' configuration key is not supported in the configuration file. " +
        "Use 'endpoint_type' instead.";
      expect(problems).toEqual([`endpoints[0] (a): ${message}`, `endpoints[1] (b): ${message}`]);
    });
  });

  describe('model.provider', () => {
    it.each([
      ['openai', 'openai'],
      ['OpenAI', 'openai'],
      ['mlflow_model_serving', 'mlflow-model-serving'],
      ['mlflow-model-serving', 'mlflow-model-serving'],
      ['MLFLOW_MODEL-serving', 'mlflow-model-serving'],
      ['amazon-bedrock', 'amazon-bedrock'],
      ['vertex_ai', 'vertex-ai'],
    ])('normalises %s to %s and keeps the raw value', (raw, normalised) => {
      const config = parse({ endpoints: [endpoint({ model: model(raw, { any: 'x' }) })] });

      expect(config.endpoints[0].model.provider).toBe(normalised);
      expect(config.endpoints[0].model.rawProvider).toBe(raw);
    });

    it('normaliseProvider replaces every underscore', () => {
      expect(normaliseProvider('Huggingface_Text_Generation_Inference')).toBe(
        'huggingface-text-generation-inference',
      );
    });

    it.each([
      ['azuread', 'azuread'],
      ['mosaicai', 'mosaicai'],
      ['open ai', 'open ai'],
      [7, '7'],
      [['openai'], '["openai"]'],
    ])('rejects %j with MLflow’s message', (provider, shown) => {
      expect(problemsOf({ endpoints: [endpoint({ model: model(provider as string, { k: 'v' }) })] })).toEqual(
        [`endpoints[0] (chat): The provider '${shown}' is not supported.`],
      );
    });

    it('requires a provider and a model mapping', () => {
      const problems = problemsOf({
        endpoints: [
          endpoint({ name: 'a', model: { name: 'gpt-4o', config: {} } }),
          endpoint({ name: 'b', model: undefined }),
          endpoint({ name: 'c', model: 'openai/gpt-4o' }),
        ],
      });

      expect(problems).toEqual([
        "endpoints[0] (a): 'model.provider' is required.",
        "endpoints[1] (b): 'model' is required.",
        "endpoints[2] (c): 'model' must be a mapping.",
      ]);
    });

    it('rejects a non-string model name and accepts a missing one', () => {
      expect(problemsOf({ endpoints: [endpoint({ model: { ...model('openai', {}), name: 4 } })] })).toEqual([
        "endpoints[0] (chat): 'model.name' must be a string.",
      ]);
      const unnamed = parse({ endpoints: [endpoint({ model: { provider: 'openai', config: {} } })] });
      expect(unnamed.endpoints[0].model.name).toBeUndefined();
    });
  });

  describe('model.config', () => {
    it('is required for a known provider, with MLflow’s message naming the provider', () => {
      expect(
        problemsOf({ endpoints: [endpoint({ model: model('mlflow_model_serving', undefined) })] }),
      ).toEqual([
        'endpoints[0] (chat): A config must be supplied when setting a provider. ' +
          'The provider entry for mlflow-model-serving is incorrect.',
      ]);
    });

    it('is not demanded again when the provider is already rejected', () => {
      expect(problemsOf({ endpoints: [endpoint({ model: model('nope', undefined) })] })).toEqual([
        "endpoints[0] (chat): The provider 'nope' is not supported.",
      ]);
    });

    it('must be a mapping', () => {
      expect(problemsOf({ endpoints: [endpoint({ model: { provider: 'openai', config: ['k'] } })] })).toEqual(
        ["endpoints[0] (chat): 'model.config' must be a mapping."],
      );
    });
  });

  describe('api-key resolution', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
    });

    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    function configOf(config: Record<string, unknown>, opts?: Partial<GatewayConfigParseOptions>) {
      return parse({ endpoints: [endpoint({ model: model('openai', config) })] }, opts).endpoints[0].model
        .config;
    }

    it('reads $VAR from the environment', () => {
      expect(configOf({ openai_api_key: '$MY_KEY' }, { env: { MY_KEY: 'sk-from-env' } })).toEqual({
        openai_api_key: 'sk-from-env',
      });
    });

    it.each([
      ['unset', {}],
      ['empty (MLflow tests truthiness)', { MY_KEY: '' }],
    ])('reports a $VAR that is %s, naming the variable and key but no secret', (_label, env) => {
      const problems = problemsOf(
        { endpoints: [endpoint({ model: model('openai', { openai_api_key: '$MY_KEY' }) })] },
        { env: { ...env, OTHER_SECRET: 'sk-do-not-leak' } },
      );

      expect(problems).toEqual([
        "endpoints[0] (chat): Environment variable 'MY_KEY' for model.config.openai_api_key is not set.",
      ]);
      expect(problems.join('\n')).not.toContain('sk-do-not-leak');
    });

    it('reads a relative key file against baseDir, trimmed', () => {
      mkdirSync(join(dir, 'secrets'));
      writeFileSync(join(dir, 'secrets', 'openai.key'), '  sk-from-file\n');

      expect(configOf({ openai_api_key: 'secrets/openai.key' }, { baseDir: dir })).toEqual({
        openai_api_key: 'sk-from-file',
      });
    });

    it('reads an absolute key file', () => {
      const file = join(dir, 'anthropic.key');
      writeFileSync(file, 'sk-abs\n');

      expect(configOf({ openai_api_key: file })).toEqual({ openai_api_key: 'sk-abs' });
    });

    it('keeps the literal when no such file exists, or when the path is a directory', () => {
      mkdirSync(join(dir, 'sk-dir'));
      const config = configOf(
        { openai_api_key: 'sk-literal/with/slashes', api_key: 'sk-dir', token: 'x'.repeat(5000) },
        { baseDir: dir },
      );

      expect(config).toEqual({
        openai_api_key: 'sk-literal/with/slashes',
        api_key: 'sk-dir',
        token: 'x'.repeat(5000),
      });
    });

    it('resolves every *api_key, token and AWS secret key at any depth, and nothing else', () => {
      writeFileSync(join(dir, 'token'), 'dapi-file');
      const env = { A: 'va', B: 'vb', C: 'vc', D: 'vd', E: 've', F: 'vf', G: 'vg' };
      const config = configOf(
        {
          openai_api_key: '$A',
          api_key: '$B',
          token: 'token',
          aws_config: {
            aws_secret_access_key: '$C',
            aws_session_token: '$D',
            aws_bearer_token: '$E',
            aws_access_key_id: '$NOT_A_SECRET',
            aws_role_arn: 'token',
          },
          litellm_auth_config: { api_key: '$F', api_base: '$G' },
          openai_api_base: '$OPENAI_API_BASE',
          client_secret: '$CLIENT_SECRET',
        },
        { env, baseDir: dir },
      );

      expect(config).toEqual({
        openai_api_key: 'va',
        api_key: 'vb',
        token: 'dapi-file',
        aws_config: {
          aws_secret_access_key: 'vc',
          aws_session_token: 'vd',
          aws_bearer_token: 've',
          aws_access_key_id: '$NOT_A_SECRET',
          aws_role_arn: 'token',
        },
        litellm_auth_config: { api_key: 'vf', api_base: '$G' },
        openai_api_base: '$OPENAI_API_BASE',
        client_secret: '$CLIENT_SECRET',
      });
    });

    it('leaves an empty optional secret alone', () => {
      expect(configOf({ aws_config: { aws_session_token: null } })).toEqual({
        aws_config: { aws_session_token: null },
      });
    });

    it('rejects a non-string api key with MLflow’s message', () => {
      expect(
        problemsOf({ endpoints: [endpoint({ model: model('openai', { openai_api_key: 12345 }) })] }),
      ).toEqual([
        'endpoints[0] (chat): model.config.openai_api_key: The api key provided is not a string. Please provide ' +
          'either an environment variable key, a path to a file containing the api key, or the api key itself',
      ]);
    });
  });

  describe('limit', () => {
    function limitOf(limit: unknown) {
      return parse({ endpoints: [endpoint({ limit })] }).endpoints[0].limit;
    }

    function limitProblems(limit: unknown): string[] {
      return problemsOf({ endpoints: [endpoint({ limit })] });
    }

    const unparsable = (detail: string) =>
      'endpoints[0] (chat): Failed to parse the rate limit configuration. Please make sure limit.calls is a ' +
      `positive number and limit.renewal_period is a right granularity (${detail}).`;

    it('is null when absent', () => {
      expect(limitOf(undefined)).toBeNull();
      expect(limitOf(null)).toBeNull();
    });

    it.each([
      'second',
      'seconds',
      'minute',
      'minutes',
      'hour',
      'hours',
      'day',
      'days',
      'month',
      'months',
      'year',
      'years',
    ])('accepts renewal_period %s', (period) => {
      expect(limitOf({ calls: 3, renewal_period: period })).toEqual({
        calls: 3,
        renewal_period: period,
        key: null,
      });
    });

    it.each(['Minute', 'HOURS', '5 minutes', ' day '])(
      'accepts renewal_period %j as the limits grammar does, keeping it verbatim',
      (period) => {
        expect(limitOf({ calls: 3, renewal_period: period })?.renewal_period).toBe(period);
      },
    );

    it('keeps the key', () => {
      expect(limitOf({ calls: 1, renewal_period: 'day', key: 'user' })).toEqual({
        calls: 1,
        renewal_period: 'day',
        key: 'user',
      });
    });

    it.each(['fortnight', 'week', 'minute/2', '', 'per minute'])('rejects renewal_period %j', (period) => {
      expect(limitProblems({ calls: 10, renewal_period: period })).toEqual([
        unparsable(
          `limit.renewal_period '${period}' is not one of second(s), minute(s), hour(s), day(s), month(s), year(s)`,
        ),
      ]);
    });

    it.each([
      [0, '0'],
      [-1, '-1'],
      [1.5, '1.5'],
      ['10', '10'],
    ])('rejects calls %j', (calls, shown) => {
      expect(limitProblems({ calls, renewal_period: 'minute' })).toEqual([
        unparsable(`limit.calls must be a positive integer, got '${shown}'`),
      ]);
    });

    it('reports missing fields, a bad key and a non-mapping limit', () => {
      expect(limitProblems({ key: 5 })).toEqual([
        "endpoints[0] (chat): 'limit.calls' is required.",
        "endpoints[0] (chat): 'limit.renewal_period' is required.",
        "endpoints[0] (chat): 'limit.key' must be a string.",
      ]);
      expect(limitProblems('10/minute')).toEqual([
        "endpoints[0] (chat): 'limit' must be a mapping with 'calls' and 'renewal_period'.",
      ]);
    });
  });

  describe('renewalPeriodSeconds', () => {
    it.each([
      ['second', 1],
      ['minutes', 60],
      ['Hour', 3_600],
      ['day', 86_400],
      ['month', 2_592_000],
      ['years', 31_104_000],
      ['5 minutes', 300],
      ['0 hours', 3_600],
    ])('%s → %d s', (period, seconds) => {
      expect(renewalPeriodSeconds(period)).toBe(seconds);
    });

    it('is undefined for what the loader rejects', () => {
      expect(renewalPeriodSeconds('fortnight')).toBeUndefined();
    });
  });

  describe('gatehouse extensions', () => {
    it('captures the top-level and per-endpoint gatehouse mappings', () => {
      const config = parse({
        gatehouse: { registrySync: { enabled: true } },
        endpoints: [endpoint({ gatehouse: { fallbacks: ['other'], timeoutMs: 5000 } })],
      });

      expect(config.extensions).toEqual({ registrySync: { enabled: true } });
      expect(config.endpoints[0].extensions).toEqual({ fallbacks: ['other'], timeoutMs: 5000 });
    });

    it('treats an empty gatehouse key as no extensions', () => {
      expect(parseGatewayConfig('gatehouse:\nendpoints: []\n', options()).extensions).toEqual({});
    });

    it('rejects a gatehouse value that is not a mapping', () => {
      expect(problemsOf({ gatehouse: 'on', endpoints: [endpoint({ gatehouse: [1] })] })).toEqual([
        "(top level): 'gatehouse' must be a mapping.",
        "endpoints[0] (chat): 'gatehouse' must be a mapping.",
      ]);
    });
  });

  describe('routes', () => {
    const endpoints = [endpoint({ name: 'a' }), endpoint({ name: 'b' })];

    function routeProblems(...routes: Record<string, unknown>[]): string[] {
      return problemsOf({ endpoints, routes });
    }

    it('parses a route and defaults routing_strategy to TRAFFIC_SPLIT', () => {
      expect(parse({ endpoints, routes: [route()] }).routes).toEqual([
        {
          name: 'split',
          taskType: 'llm/v1/chat',
          routingStrategy: 'TRAFFIC_SPLIT',
          destinations: [
            { name: 'a', trafficPercentage: 60 },
            { name: 'b', trafficPercentage: 40 },
          ],
        },
      ]);
    });

    it('accepts an explicit TRAFFIC_SPLIT, a 100/0 split and a name MLflow does not restrict', () => {
      const destinations = [
        { name: 'a', traffic_percentage: 100 },
        { name: 'b', traffic_percentage: 0 },
      ];
      const [parsed] = parse({
        endpoints,
        routes: [route({ name: 'my route', routing_strategy: 'TRAFFIC_SPLIT', destinations })],
      }).routes;

      expect(parsed.name).toBe('my route');
      expect(parsed.destinations.map((d) => d.trafficPercentage)).toEqual([100, 0]);
    });

    it('rejects a destination that is not an endpoint, including a route name', () => {
      const problems = routeProblems(
        route({ name: 'r1' }),
        route({
          name: 'r2',
          destinations: [
            { name: 'r1', traffic_percentage: 50 },
            { name: 'missing', traffic_percentage: 50 },
          ],
        }),
      );

      expect(problems).toEqual([
        "routes[1] (r2): destinations[0]: The route destination name must be a endpoint name, but the route 'r2' " +
          "has an invalid destination name 'r1'.",
        "routes[1] (r2): destinations[1]: The route destination name must be a endpoint name, but the route 'r2' " +
          "has an invalid destination name 'missing'.",
      ]);
    });

    it('rejects a destination of another endpoint type', () => {
      const problems = problemsOf({
        endpoints: [endpoint({ name: 'a' }), endpoint({ name: 'e', endpoint_type: 'llm/v1/embeddings' })],
        routes: [
          route({
            destinations: [
              { name: 'a', traffic_percentage: 50 },
              { name: 'e', traffic_percentage: 50 },
            ],
          }),
        ],
      });

      expect(problems).toEqual([
        "routes[0] (split): destinations[1]: The route destination endpoint types in the route 'split' must have " +
          "endpoint type 'llm/v1/chat' but got endpoint type 'llm/v1/embeddings'.",
      ]);
    });

    it('rejects percentages outside 0..100', () => {
      const destinations = [
        { name: 'a', traffic_percentage: 150 },
        { name: 'b', traffic_percentage: -50 },
      ];

      expect(routeProblems(route({ destinations }))).toEqual([
        'routes[0] (split): destinations[0]: The route destination traffic percentage must between 0 and 100.',
        'routes[0] (split): destinations[1]: The route destination traffic percentage must between 0 and 100.',
      ]);
    });

    it.each([
      [[90, 20], 'over'],
      [[30, 20], 'under'],
    ])('rejects a split of %j (%s 100)', (percentages) => {
      const destinations = [
        { name: 'a', traffic_percentage: percentages[0] },
        { name: 'b', traffic_percentage: percentages[1] },
      ];

      expect(routeProblems(route({ destinations }))).toEqual([
        'routes[0] (split): For each route configuration, the traffic percentage sum of destinations must be ' +
          "100, but got invalid configuration of route 'split'.",
      ]);
    });

    it('rejects an empty destination list by its sum', () => {
      expect(routeProblems(route({ destinations: [] }))).toEqual([
        'routes[0] (split): For each route configuration, the traffic percentage sum of destinations must be ' +
          "100, but got invalid configuration of route 'split'.",
      ]);
    });

    it('requires integer percentages and skips the sum check until they are', () => {
      const destinations = [
        { name: 'a', traffic_percentage: 50.5 },
        { name: 'b', traffic_percentage: '49.5' },
      ];

      expect(routeProblems(route({ destinations }))).toEqual([
        "routes[0] (split): destinations[0]: 'traffic_percentage' must be an integer, got 50.5.",
        "routes[0] (split): destinations[1]: 'traffic_percentage' must be an integer, got 49.5.",
      ]);
    });

    it('validates task_type like endpoint_type', () => {
      expect(
        routeProblems(route({ task_type: 'llm/v2/chat' }), route({ name: 'r2', task_type: undefined })),
      ).toEqual([
        "routes[0] (split): The route_type 'llm/v2/chat' is not supported.",
        "routes[1] (r2): 'task_type' is required.",
      ]);
    });

    it('rejects any routing_strategy but TRAFFIC_SPLIT', () => {
      expect(routeProblems(route({ routing_strategy: 'ROUND_ROBIN' }))).toEqual([
        "routes[0] (split): 'routing_strategy' must be 'TRAFFIC_SPLIT' (the only strategy), got ROUND_ROBIN.",
      ]);
    });

    it('reports malformed routes and destinations', () => {
      const problems = routeProblems(
        route({ destinations: undefined }),
        route({ name: 'r2', destinations: { name: 'a' } }),
        route({ name: 'r3', destinations: ['a', { traffic_percentage: 100 }, { name: 'a' }] }),
      );

      expect(problems).toEqual([
        "routes[0] (split): 'destinations' is required.",
        "routes[1] (r2): 'destinations' must be a list.",
        "routes[2] (r3): destinations[0]: A destination must be a mapping with 'name' and 'traffic_percentage'.",
        "routes[2] (r3): destinations[1]: 'name' is required.",
        "routes[2] (r3): destinations[2]: 'traffic_percentage' is required.",
      ]);
      expect(problemsOf({ endpoints, routes: ['split'] })).toEqual(['routes[0]: A route must be a mapping.']);
    });
  });

  describe('error reporting', () => {
    it('lists every problem in one GatewayConfigError whose message joins them', () => {
      const config = {
        endpoints: [
          endpoint({ name: 'bad name', endpoint_type: 'llm/v1/rerank' }),
          endpoint({
            name: 'ok',
            model: model('openai', { openai_api_key: '$MISSING' }),
            limit: { calls: 0, renewal_period: 'minute' },
          }),
          endpoint({ name: 'ok', model: model('acme', {}) }),
        ],
        routes: [
          route({
            destinations: [
              { name: 'ok', traffic_percentage: 100 },
              { name: 'gone', traffic_percentage: 0 },
            ],
          }),
        ],
      };
      let error: unknown;
      try {
        parse(config);
      } catch (err) {
        error = err;
      }

      expect(error).toBeInstanceOf(GatewayConfigError);
      const { problems, message, name } = error as GatewayConfigError;
      expect(name).toBe('GatewayConfigError');
      expect(problems).toEqual([
        "endpoints[0] (bad name): The route name provided contains disallowed characters for a url endpoint. 'bad name' is invalid. Names cannot contain spaces or any non alphanumeric characters other than hyphen and underscore.",
        "endpoints[0] (bad name): The route_type 'llm/v1/rerank' is not supported.",
        "endpoints[1] (ok): Environment variable 'MISSING' for model.config.openai_api_key is not set.",
        "endpoints[1] (ok): Failed to parse the rate limit configuration. Please make sure limit.calls is a positive number and limit.renewal_period is a right granularity (limit.calls must be a positive integer, got '0').",
        `endpoints[2] (ok): ${DUPLICATE_NAME}`,
        "endpoints[2] (ok): The provider 'acme' is not supported.",
        "routes[0] (split): destinations[1]: The route destination name must be a endpoint name, but the route 'split' has an invalid destination name 'gone'.",
      ]);
      expect(message).toBe(problems.join('\n'));
    });
  });
});
