import OpenAI from 'openai';
import { COHERE_MOCK_API_KEY, CohereMock, startCohereMock } from 'test/mocks/cohere-mock.server';
import {
  DATABRICKS_MOCK_TOKEN,
  DatabricksMock,
  startDatabricksMock,
} from 'test/mocks/databricks-mock.server';
import { startTgiMock, TgiMock } from 'test/mocks/tgi-mock.server';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

type Yaml = string;

function endpoint(
  name: string,
  type: string,
  provider: string,
  model: string | undefined,
  config: Record<string, string>,
): Yaml {
  const lines = Object.entries(config).map(([k, v]) => `        ${k}: ${v}`);
  return `
  - name: ${name}
    endpoint_type: llm/v1/${type}
    model:
      provider: ${provider}
${model === undefined ? '' : `      name: ${model}\n`}      config:
${lines.join('\n')}`;
}

async function sse(response: Response): Promise<Record<string, unknown>[]> {
  const events = (await response.text()).split('\n\n').filter(Boolean);
  return events
    .map((e) => e.replace(/^data: /, ''))
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

describe('Cohere, Hugging Face TGI, Databricks and Mistral through the real gateway', () => {
  let cohere: CohereMock;
  let tgi: TgiMock;
  let databricks: DatabricksMock;
  let openai: OpenAIMock;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    process.env.MOCK_COHERE_KEY = COHERE_MOCK_API_KEY;
    process.env.MOCK_DATABRICKS_TOKEN = DATABRICKS_MOCK_TOKEN;
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    [cohere, tgi, databricks, openai] = await Promise.all([
      startCohereMock(),
      startTgiMock(),
      startDatabricksMock(),
      startOpenAIMock(),
    ]);
    const co = { cohere_api_key: '$MOCK_COHERE_KEY', cohere_api_base: cohere.url };
    const hf = { hf_server_url: tgi.url };
    const db = { host: databricks.url, token: '$MOCK_DATABRICKS_TOKEN' };
    const dbAlt = {
      databricks_workspace_url: `${databricks.url}/serving-endpoints`,
      databricks_api_token: '$MOCK_DATABRICKS_TOKEN',
    };
    const yaml = `endpoints:${[
      endpoint('co-chat', 'chat', 'cohere', 'command-a-03-2025', co),
      endpoint('co-embed', 'embeddings', 'cohere', 'embed-v4.0', co),
      endpoint('co-complete', 'completions', 'cohere', 'command-r7b-12-2024', co),
      endpoint('co-429', 'chat', 'cohere', 'mock-429', co),
      endpoint('co-400', 'chat', 'cohere', 'mock-400', co),
      endpoint('tgi', 'completions', 'huggingface-text-generation-inference', 'llama-3-8b', hf),
      endpoint('tgi-chat', 'chat', 'huggingface-text-generation-inference', undefined, hf),
      endpoint('dbx-chat', 'chat', 'databricks', 'llama-70b', db),
      endpoint('dbx-reasoning', 'chat', 'databricks-model-serving', 'reasoning-claude', dbAlt),
      endpoint('dbx-embed', 'embeddings', 'databricks', 'gte-large', db),
      endpoint('dbx-complete', 'completions', 'databricks', 'instruct', db),
      endpoint('dbx-429', 'chat', 'databricks', 'mock-429', db),
      endpoint('dbx-missing', 'chat', 'databricks', 'missing', db),
      // Mistral's wire is OpenAI's for chat, so the OpenAI mock stands in for api.mistral.ai.
      endpoint('mistral-complete', 'completions', 'mistral', 'mistral-small-latest', {
        mistral_api_key: '$MOCK_OPENAI_KEY',
        mistral_api_base: `${openai.url}/v1`,
      }),
    ].join('')}`;
    gateway = await startGateway(yaml);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([cohere?.close(), tgi?.close(), databricks?.close(), openai?.close()]);
  });

  const post = (path: string, body: unknown) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify(body),
    });

  describe('cohere', () => {
    it('answers a chat with billed-unit usage and sends Cohere v2 with the key and a halved temperature', async () => {
      const completion = await client.chat.completions.create({
        model: 'co-chat',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello from cohere' },
        ],
        temperature: 1.2,
        max_tokens: 50,
      });
      expect(completion.choices[0].message.content).toBe('echo: hello from cohere');
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
      const upstream = cohere.requests[cohere.requests.length - 1];
      expect(upstream.path).toBe('/v2/chat');
      expect(upstream.headers.authorization).toBe(`Bearer ${COHERE_MOCK_API_KEY}`);
      expect(upstream.body).toEqual({
        model: 'command-a-03-2025',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hello from cohere' },
        ],
        stream: false,
        max_tokens: 50,
        temperature: 0.6,
      });
    });

    it('streams Cohere SSE events as OpenAI chunks with usage and [DONE]', async () => {
      const stream = await client.chat.completions.create({
        model: 'co-chat',
        messages: [{ role: 'user', content: 'stream these four words' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      const finishes: string[] = [];
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('echo: stream these four words');
      expect(finishes).toEqual(['stop']);
      expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
    });

    it('runs a tool round trip: a tool call, then an answer from the tool result', async () => {
      const tools: OpenAI.ChatCompletionTool[] = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { location: { type: 'string' } } },
          },
        },
      ];
      const first = await client.chat.completions.create({
        model: 'co-chat',
        messages: [{ role: 'user', content: 'weather in Paris?' }],
        tools,
      });
      expect(first.choices[0].finish_reason).toBe('tool_calls');
      const call = first.choices[0].message.tool_calls![0];
      expect(call.type === 'function' && [call.function.name, JSON.parse(call.function.arguments)]).toEqual([
        'get_weather',
        { location: 'Paris' },
      ]);

      const second = await client.chat.completions.create({
        model: 'co-chat',
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          first.choices[0].message,
          { role: 'tool', tool_call_id: call.id, content: 'sunny 21C' },
        ],
        tools,
      });
      expect(second.choices[0].message.content).toBe('weather: sunny 21C');
      const upstream = cohere.requests[cohere.requests.length - 1].body as { messages: unknown[] };
      expect(upstream.messages[1]).toEqual({
        role: 'assistant',
        tool_calls: [
          {
            id: call.id,
            type: 'function',
            function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
          },
        ],
      });
      expect(upstream.messages[2]).toEqual({ role: 'tool', tool_call_id: call.id, content: 'sunny 21C' });
    });

    it('streams tool calls as OpenAI tool_calls deltas', async () => {
      const stream = await client.chat.completions.create({
        model: 'co-chat',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [
          {
            type: 'function',
            function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
          },
        ],
        stream: true,
      });
      let args = '';
      let name: string | undefined;
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
          expect(call.index).toBe(0);
          name ??= call.function?.name;
          args += call.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect([name, JSON.parse(args), finish]).toEqual(['get_weather', { location: 'Paris' }, 'tool_calls']);
    });

    it('embeds with v2 embed and reports billed input tokens', async () => {
      // The SDK asks for base64 by default: the gateway encodes Cohere's floats as float32.
      const result = await client.embeddings.create({ model: 'co-embed', input: ['one two', 'three'] });
      const expected = [
        [2, 0.07, 0.5, -0.25],
        [1, 0.05, 0.5, -0.25],
      ];
      expect(result.data.map((d) => d.embedding.length)).toEqual([4, 4]);
      result.data.forEach((d, i) => d.embedding.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 6)));
      const floats = (await (await post('/v1/embeddings', { model: 'co-embed', input: 'a b c' })).json()) as {
        data: { embedding: number[] }[];
      };
      expect(floats.data[0].embedding).toEqual([3, 0.05, 0.5, -0.25]);
      expect(result.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
      expect(cohere.requests[cohere.requests.length - 2].body).toEqual({
        model: 'embed-v4.0',
        texts: ['one two', 'three'],
        input_type: 'search_document',
        embedding_types: ['float'],
      });
    });

    it('serves completions through chat, cut by max_tokens', async () => {
      const result = await client.completions.create({
        model: 'co-complete',
        prompt: 'Once upon a time',
        max_tokens: 3,
      });
      expect(result.choices[0]).toMatchObject({ text: 'echo: Once upon', finish_reason: 'length' });
      expect(result.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3 });
    });

    it("maps Cohere's 429 (with Retry-After) and 400 with the upstream message", async () => {
      const limited = await client.chat.completions
        .create({ model: 'co-429', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
      const rate = limited as InstanceType<typeof OpenAI.RateLimitError>;
      expect(rate.headers.get('retry-after')).toBe('5');
      expect(rate.message).toContain('Trial key, which is limited to 10 API calls / minute');

      const bad = await post('/v1/chat/completions', {
        model: 'co-400',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(bad.status).toBe(400);
      const body = (await bad.json()) as { error: { message: string } };
      expect(body.error.message).toContain('message must be at least 1 token long');
    });

    it('refuses n > 1 with 422 before calling Cohere', async () => {
      const before = cohere.requests.length;
      const response = await post('/v1/chat/completions', {
        model: 'co-chat',
        n: 2,
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(response.status).toBe(422);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        'Parameter n must be 1 for Cohere chat, got 2.',
      );
      expect(cohere.requests.length).toBe(before);
    });
  });

  describe('huggingface-text-generation-inference', () => {
    it('completes through /generate with prefill usage and MLflow’s parameter mapping', async () => {
      const result = await client.completions.create({
        model: 'tgi',
        prompt: 'what is tgi',
        max_tokens: 10,
        temperature: 0.2,
      });
      expect(result.choices[0]).toMatchObject({ text: 'echo: what is tgi', finish_reason: 'stop' });
      // prefill = <s> + 3 words; generated = 4 words + </s>
      expect(result.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
      const upstream = tgi.requests[tgi.requests.length - 1];
      expect(upstream.path).toBe('/generate');
      expect(upstream.body).toEqual({
        inputs: 'what is tgi',
        parameters: { max_new_tokens: 10, temperature: 10, details: true, decoder_input_details: true },
      });
    });

    it('streams /generate_stream tokens as text_completion chunks; special tokens are dropped', async () => {
      const stream = await client.completions.create({
        model: 'tgi',
        prompt: 'stream me please',
        max_tokens: 3,
        stream: true,
      });
      let text = '';
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect([text, finish]).toEqual(['echo: stream me', 'length']);
      expect(tgi.requests[tgi.requests.length - 1].path).toBe('/generate_stream');
    });

    it('ends a stream that fails mid-way with an error event, without [DONE]', async () => {
      const response = await post('/v1/completions', {
        model: 'tgi',
        prompt: 'mock-stream-error now',
        stream: true,
      });
      const raw = await response.text();
      const events = raw.split('\n\n').filter(Boolean);
      expect(events[events.length - 1]).toContain('"error"');
      expect(raw).not.toContain('[DONE]');
    });

    it("maps TGI's 422 validation and 429 overloaded errors", async () => {
      const invalid = await post('/v1/completions', { model: 'tgi', prompt: 'hi', max_tokens: 5000 });
      expect(invalid.status).toBe(422);
      expect(((await invalid.json()) as { error: { message: string } }).error.message).toContain(
        '`inputs` tokens + `max_new_tokens` must be <= 1024',
      );
      const overloaded = await post('/v1/completions', { model: 'tgi', prompt: 'mock-overloaded' });
      expect(overloaded.status).toBe(429);
    });

    it('answers chat with MLflow’s 501, as the provider has no chat', async () => {
      const response = await post('/endpoints/tgi-chat/invocations', {
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(response.status).toBe(501);
      expect(await response.json()).toEqual({
        detail: 'The chat route is not implemented for Hugging Face Text Generation Inference models.',
      });
    });
  });

  describe('databricks', () => {
    it('invokes /serving-endpoints/{name}/invocations with the token and no model key', async () => {
      const completion = await client.chat.completions.create({
        model: 'dbx-chat',
        messages: [{ role: 'user', content: 'hello databricks' }],
        max_tokens: 20,
      });
      expect(completion.choices[0].message.content).toBe('echo: hello databricks');
      expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
      const upstream = databricks.requests[databricks.requests.length - 1];
      expect(upstream.path).toBe('/serving-endpoints/llama-70b/invocations');
      expect(upstream.headers.authorization).toBe(`Bearer ${DATABRICKS_MOCK_TOKEN}`);
      expect(upstream.body).toEqual({
        messages: [{ role: 'user', content: 'hello databricks' }],
        max_tokens: 20,
      });
    });

    it('streams chat chunks', async () => {
      const response = await post('/v1/chat/completions', {
        model: 'dbx-chat',
        stream: true,
        messages: [{ role: 'user', content: 'a b' }],
      });
      const chunks = (await sse(response)) as { choices: { delta: { content?: string } }[] }[];
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('echo: a b');
    });

    it('flattens reasoning content parts to text (workspace URL and token under their alias keys)', async () => {
      const completion = await client.chat.completions.create({
        model: 'dbx-reasoning',
        messages: [{ role: 'user', content: 'think' }],
      });
      expect(completion.choices[0].message.content).toBe('echo: think');
      expect(databricks.requests[databricks.requests.length - 1].path).toBe(
        '/serving-endpoints/reasoning-claude/invocations',
      );
    });

    it('embeds and completes', async () => {
      const embedded = await client.embeddings.create({ model: 'dbx-embed', input: ['x y', 'z'] });
      expect(embedded.data.map((d) => d.embedding)).toEqual([
        [2, 1, 0],
        [1, 1, 0],
      ]);
      expect(embedded.usage.prompt_tokens).toBe(3);
      const completed = await client.completions.create({
        model: 'dbx-complete',
        prompt: 'p q r',
        max_tokens: 2,
      });
      expect(completed.choices[0]).toMatchObject({ text: 'echo: p', finish_reason: 'length' });
    });

    it("maps Databricks' REQUEST_LIMIT_EXCEEDED to 429 and a missing serving endpoint to 502", async () => {
      const limited = await post('/v1/chat/completions', {
        model: 'dbx-429',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { error: { message: string } }).error.message).toBe(
        'Exceeded workspace rate limit for Foundation Model APIs.',
      );
      const missing = await post('/v1/chat/completions', {
        model: 'dbx-missing',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(missing.status).toBe(502);
      expect(((await missing.json()) as { error: { message: string } }).error.message).toContain(
        "Endpoint with name 'missing' does not exist.",
      );
    });
  });

  describe('mistral', () => {
    it('sends completions to chat/completions (no /v1/completions on Mistral) and strips stream_options', async () => {
      const result = await client.completions.create({
        model: 'mistral-complete',
        prompt: 'say cheese',
        temperature: 1,
      });
      expect(result.object).toBe('text_completion');
      expect(result.choices[0].text).toBe('echo: say cheese');
      const upstream = openai.requests[openai.requests.length - 1];
      expect(upstream.path).toBe('/v1/chat/completions');
      expect(upstream.body).toMatchObject({
        model: 'mistral-small-latest',
        messages: [{ role: 'user', content: 'say cheese' }],
        temperature: 0.5,
      });

      const stream = await client.completions.create({
        model: 'mistral-complete',
        prompt: 'stream cheese',
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
      expect(text).toBe('echo: stream cheese');
      expect(openai.requests[openai.requests.length - 1].body.stream_options).toBeUndefined();
    });
  });
});

describe('retired MLflow providers', () => {
  it.each([
    ['palm', 'PaLM provider is deprecated and will be removed in a future MLflow version.'],
    ['mosaicml', 'MosaicML provider is deprecated and will be removed in a future MLflow version.'],
    ['ai21labs', "MLflow's AI21Labs provider only accepts the Jurassic-2 models"],
  ])('refuses %s when the configuration loads', async (provider, message) => {
    const yaml = `endpoints:${endpoint('old', 'completions', provider, 'some-model', { [`${provider}_api_key`]: 'k' })}`;
    const failure = await startGateway(yaml).then(
      async (gateway) => {
        await gateway.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(
      `The provider '${provider}' is no longer supported. ${message}`,
    );
  });
});
