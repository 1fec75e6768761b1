import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  AdapterRequestError,
  CanonicalChunk,
  CanonicalRequest,
  EndpointType,
  Operation,
  ProviderAdapter,
  TargetContext,
  UpstreamErrorInfo,
} from 'src/modules/providers/provider-adapter';
import { AnthropicAdapter } from 'src/modules/providers/adapters/anthropic/anthropic.adapter';
import { BedrockAdapter } from 'src/modules/providers/adapters/bedrock/bedrock.adapter';
import { GeminiAdapter } from 'src/modules/providers/adapters/gemini/gemini.adapter';
import { VertexAIAdapter } from 'src/modules/providers/adapters/vertex-ai/vertex-ai.adapter';
import { CohereAdapter } from 'src/modules/providers/adapters/cohere/cohere.adapter';
import { DatabricksAdapter } from 'src/modules/providers/adapters/databricks/databricks.adapter';
import { HuggingFaceTgiAdapter } from 'src/modules/providers/adapters/huggingface-tgi/tgi.adapter';
import { LiteLLMAdapter } from 'src/modules/providers/adapters/litellm/litellm.adapter';
import { MistralAdapter } from 'src/modules/providers/adapters/mistral/mistral.adapter';
import { MlflowModelServingAdapter } from 'src/modules/providers/adapters/mlflow-model-serving/mlflow-model-serving.adapter';
import { OpenAIAdapter } from 'src/modules/providers/adapters/openai/openai.adapter';
import { OpenAICompatibleAdapter } from 'src/modules/providers/adapters/openai-compatible/openai-compatible.adapter';

/**
 * The shared contract every provider adapter passes with recorded fixtures.
 *
 * Each `adapters/<folder>/fixtures/*.json` names its adapter (`adapter` = folder name). Register
 * every adapter folder here; a folder with fixtures but no entry fails the suite, and so does an
 * entry without fixtures.
 */
const ADAPTERS: Record<string, new () => ProviderAdapter> = {
  anthropic: AnthropicAdapter,
  bedrock: BedrockAdapter,
  gemini: GeminiAdapter,
  cohere: CohereAdapter,
  databricks: DatabricksAdapter,
  'huggingface-tgi': HuggingFaceTgiAdapter,
  litellm: LiteLLMAdapter,
  mistral: MistralAdapter,
  'mlflow-model-serving': MlflowModelServingAdapter,
  openai: OpenAIAdapter,
  'openai-compatible': OpenAICompatibleAdapter,
  'vertex-ai': VertexAIAdapter,
};

const ADAPTERS_DIR = join(__dirname, 'adapters');

const ENDPOINT_TYPE: Record<Operation, EndpointType> = {
  chat: 'llm/v1/chat',
  completions: 'llm/v1/completions',
  embeddings: 'llm/v1/embeddings',
};

const json = z.record(z.string(), z.unknown());

const fixtureSchema = z
  .object({
    description: z.string().min(1),
    adapter: z.string().min(1),
    provider: z.string().min(1),
    operation: z.enum(['chat', 'completions', 'embeddings']),
    modelName: z.string().optional(),
    config: json,
    stream: z.boolean(),
    request: json,
    expectUpstream: z
      .object({ url: z.string(), headers: z.record(z.string(), z.string()).optional(), body: json })
      .optional(),
    /** The adapter refuses the request before any upstream call (e.g. `n` > 1). */
    expectRequestError: z.object({ status: z.number(), message: z.string() }).optional(),
    upstreamResponse: z.unknown().optional(),
    expectResponse: json.optional(),
    upstreamEvents: z.array(z.object({ event: z.string().optional(), data: z.string() })).optional(),
    expectChunks: z.array(json).optional(),
    expectDone: z.boolean().optional(),
    expectFinished: z.boolean().optional(),
    upstreamError: z
      .object({
        status: z.number().int(),
        body: z.unknown(),
        /** Response headers (lower-case names), for providers that name the error there. */
        headers: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    /** For `upstreamError`: parseError's result. For `upstreamEvents`: the in-stream error, if any. */
    expectError: z
      .object({ message: z.string(), type: z.string().optional(), code: z.string().nullable().optional() })
      .optional(),
  })
  .strict();

type Fixture = z.infer<typeof fixtureSchema>;

interface FixtureFile {
  folder: string;
  name: string;
  path: string;
}

function adapterFolders(): string[] {
  return readdirSync(ADAPTERS_DIR)
    .filter((name) => statSync(join(ADAPTERS_DIR, name)).isDirectory())
    .sort();
}

function fixtureFiles(): FixtureFile[] {
  return adapterFolders().flatMap((folder) => {
    const dir = join(ADAPTERS_DIR, folder, 'fixtures');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => ({ folder, name, path: join(dir, name) }));
  });
}

function loadFixture(file: FixtureFile): Fixture {
  const parsed = fixtureSchema.safeParse(JSON.parse(readFileSync(file.path, 'utf8')));
  if (!parsed.success) throw new Error(`${file.folder}/${file.name}: ${z.prettifyError(parsed.error)}`);
  const fixture = parsed.data;
  const outcomes = [
    fixture.expectRequestError,
    fixture.upstreamResponse,
    fixture.upstreamEvents,
    fixture.upstreamError,
  ].filter((o) => o !== undefined);
  if (outcomes.length !== 1) {
    throw new Error(
      `${file.folder}/${file.name}: exactly one of expectRequestError, upstreamResponse, upstreamEvents, upstreamError`,
    );
  }
  if ((fixture.expectRequestError === undefined) !== (fixture.expectUpstream !== undefined)) {
    throw new Error(
      `${file.folder}/${file.name}: expectUpstream is required unless expectRequestError is given`,
    );
  }
  return fixture;
}

/** `created` is a clock reading: only its type is part of the contract. */
function normaliseCreated(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseCreated);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      key === 'created' && typeof v === 'number' ? '<number>' : normaliseCreated(v),
    ]),
  );
}

function expectedWithCreated(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expectedWithCreated);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key === 'created' ? '<number>' : expectedWithCreated(v)]),
  );
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

const files = fixtureFiles();

describe('provider adapter contract', () => {
  it('finds fixtures', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(adapterFolders().filter((folder) => files.some((f) => f.folder === folder)))(
    'adapter folder %s with fixtures is registered in ADAPTERS',
    (folder) => {
      expect(Object.keys(ADAPTERS)).toContain(folder);
    },
  );

  it.each(Object.keys(ADAPTERS))('registered adapter %s has recorded fixtures', (name) => {
    expect(files.filter((f) => f.folder === name).length).toBeGreaterThan(0);
  });

  describe.each(files.map((file) => [`${file.folder}/${file.name}`, file] as const))('%s', (_label, file) => {
    let fixture: Fixture | undefined;
    let loadError: unknown;
    try {
      fixture = loadFixture(file);
    } catch (error) {
      loadError = error;
    }

    function setUp(fixture: Fixture): { adapter: ProviderAdapter; target: TargetContext } {
      expect(fixture.adapter).toBe(file.folder);
      const Adapter = ADAPTERS[fixture.adapter];
      expect(Adapter).toBeDefined();
      const adapter = new Adapter();
      expect(adapter.providers).toContain(fixture.provider);
      const target: TargetContext = {
        endpointName: `contract-${file.folder}`,
        endpointType: ENDPOINT_TYPE[fixture.operation],
        modelName: fixture.modelName,
        config: adapter.parseConfig(fixture.config, fixture.provider, fixture.modelName),
      };
      return { adapter, target };
    }

    function build(fixture: Fixture, adapter: ProviderAdapter, target: TargetContext) {
      return adapter.buildRequest(
        fixture.operation,
        fixture.request as CanonicalRequest,
        target,
        fixture.stream,
      );
    }

    it(fixture?.description ?? 'is a valid fixture', () => {
      if (fixture === undefined) throw loadError;
      const { adapter, target } = setUp(fixture);

      if (fixture.expectRequestError !== undefined) {
        let caught: unknown;
        try {
          build(fixture, adapter, target);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(AdapterRequestError);
        const error = caught as AdapterRequestError;
        expect({ status: error.status, message: error.message }).toEqual(fixture.expectRequestError);
        return;
      }

      const upstream = build(fixture, adapter, target);
      const expected = fixture.expectUpstream!;
      expect(upstream.method).toBe('POST');
      expect(upstream.url).toBe(expected.url);
      expect(lowerKeys(upstream.headers)).toMatchObject(lowerKeys(expected.headers ?? {}));
      expect(JSON.parse(upstream.body)).toEqual(expected.body);

      if (fixture.upstreamResponse !== undefined) {
        const response = adapter.parseResponse(
          fixture.operation,
          fixture.upstreamResponse,
          target,
          fixture.request as CanonicalRequest,
        );
        expect(normaliseCreated(response)).toEqual(expectedWithCreated(fixture.expectResponse));
      } else if (fixture.upstreamEvents !== undefined) {
        const translator = adapter.createStreamTranslator(fixture.operation, target);
        const chunks: CanonicalChunk[] = [];
        const errors: UpstreamErrorInfo[] = [];
        let done = false;
        for (const event of fixture.upstreamEvents) {
          const step = translator.push(event);
          chunks.push(...step.chunks);
          if (step.error !== undefined) errors.push(step.error);
          if (step.done === true) done = true;
        }
        expect(normaliseCreated(chunks)).toEqual(expectedWithCreated(fixture.expectChunks ?? []));
        expect(done).toBe(fixture.expectDone ?? false);
        expect(errors).toEqual(fixture.expectError === undefined ? [] : [fixture.expectError]);
        if (fixture.expectFinished !== undefined) expect(translator.finished).toBe(fixture.expectFinished);
      } else if (fixture.upstreamError !== undefined) {
        const { status, body, headers } = fixture.upstreamError;
        const info = adapter.parseError(status, body, headers);
        expect(info).toEqual(fixture.expectError);
      }
    });
  });
});
