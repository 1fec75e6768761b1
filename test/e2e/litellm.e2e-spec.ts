import OpenAI from 'openai';
import { LITELLM_MOCK_MASTER_KEY, LiteLLMMock, startLiteLLMMock } from 'test/mocks/litellm-mock.server';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';

/*
 * MLflow's `litellm` provider through a LiteLLM proxy: the OpenAI SDK calls Gatehouse, Gatehouse calls
 * a local proxy speaking OpenAI's wire format with LiteLLM's model naming, key and error envelope.
 */

function endpoint(name: string, type: string, model: string, config: string): string {
  return `
  - name: ${name}
    endpoint_type: llm/v1/${type}
    model:
      provider: litellm
      name: ${model}
      config:
${config}`;
}

describe('litellm provider (through a LiteLLM proxy)', () => {
  let proxy: LiteLLMMock;
  let gateway: TestGateway;
  let client: OpenAI;

  const last = () => proxy.requests[proxy.requests.length - 1];

  beforeAll(async () => {
    proxy = await startLiteLLMMock();
    process.env.MOCK_LITELLM_KEY = LITELLM_MOCK_MASTER_KEY;
    const prefixed = `        litellm_provider: anthropic
        litellm_api_key: $MOCK_LITELLM_KEY
        litellm_api_base: ${proxy.url}`;
    // MLflow 3's form: the key and base inside litellm_auth_config, auth_mode ignored.
    const authConfig = `        litellm_provider: openai
        litellm_auth_config:
          auth_mode: api_key
          api_key: $MOCK_LITELLM_KEY
          api_base: ${proxy.url}/v1`;
    gateway = await startGateway(`
endpoints:
${endpoint('claude-via-litellm', 'chat', 'claude-3-5-sonnet-20241022', prefixed)}
${endpoint('embed-via-litellm', 'embeddings', 'text-embedding-3-small', authConfig)}
${endpoint('complete-via-litellm', 'completions', 'gpt-4o-mini', prefixed)}
${endpoint('unknown-at-proxy', 'chat', 'not-in-model-list', `        litellm_api_key: $MOCK_LITELLM_KEY\n        litellm_api_base: ${proxy.url}`)}
${endpoint('wrong-key', 'chat', 'gpt-4o-mini', `        litellm_api_key: sk-wrong\n        litellm_api_base: ${proxy.url}`)}
`);
    client = new OpenAI({ apiKey: gateway.apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await proxy?.close();
  });

  it('chat: the model as <litellm_provider>/<name>, the proxy key as Bearer, the answer as OpenAI shapes it', async () => {
    const completion = await client.chat.completions.create({
      model: 'claude-via-litellm',
      messages: [{ role: 'user', content: 'hello proxy' }],
      max_tokens: 20,
    });
    expect(completion.choices[0].message.content).toBe('echo: hello proxy');
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(last().path).toBe('/chat/completions');
    expect(last().headers.authorization).toBe(`Bearer ${LITELLM_MOCK_MASTER_KEY}`);
    expect(last().body).toMatchObject({
      model: 'anthropic/claude-3-5-sonnet-20241022',
      messages: [{ role: 'user', content: 'hello proxy' }],
      max_tokens: 20,
    });
  });

  it('chat stream: deltas add up, usage asked for and passed on', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-via-litellm',
      messages: [{ role: 'user', content: 'stream through litellm' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream through litellm');
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(last().body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('tool calls come back as OpenAI tool_calls', async () => {
    const completion = await client.chat.completions.create({
      model: 'claude-via-litellm',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    });
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        tool_calls: [
          { id: 'call_litellm_1', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
        ],
      },
    });
  });

  it('embeddings with litellm_auth_config (MLflow 3)', async () => {
    const result = await client.embeddings.create({
      model: 'embed-via-litellm',
      input: ['one two', 'three'],
    });
    expect(result.data.map((d) => d.embedding)).toEqual([
      [2, 0.5],
      [1, 0.5],
    ]);
    expect(last().path).toBe('/v1/embeddings');
    expect(last().body).toMatchObject({
      model: 'openai/text-embedding-3-small',
      input: ['one two', 'three'],
    });
  });

  it('the Responses API on a litellm endpoint', async () => {
    const response = await client.responses.create({
      model: 'claude-via-litellm',
      input: 'responses via proxy',
    });
    expect(response.output_text).toBe('echo: responses via proxy');
    expect(last().body.model).toBe('anthropic/claude-3-5-sonnet-20241022');
  });

  it("completions answer 501 with MLflow's message, without calling the proxy", async () => {
    const before = proxy.requests.length;
    await expect(
      client.completions.create({ model: 'complete-via-litellm', prompt: 'x' }),
    ).rejects.toMatchObject({
      status: 501,
      error: { message: 'The completions route is not implemented for LiteLLM models.' },
    });
    expect(proxy.requests.length).toBe(before);
  });

  it("the proxy's errors keep their message; Python's None never reaches the caller", async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...gateway.authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unknown-at-proxy', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await res.json()) as { error: { message: string; type: string; param: string | null } };
    expect(res.status).toBe(400);
    expect(body.error.message).toContain('Invalid model name passed in model=not-in-model-list');
    expect([body.error.type, body.error.param]).not.toContain('None');
    const denied = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...gateway.authHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'wrong-key', messages: [{ role: 'user', content: 'hi' }] }),
    });
    // The proxy refusing the gateway's own key is the gateway's failure, not the caller's 401.
    expect(denied.status).toBe(502);
  });

  it('refuses at load what a LiteLLM proxy cannot honour, saying why', async () => {
    const cases: [string, RegExp][] = [
      [
        `        litellm_auth_config:\n          api_base: http://127.0.0.1:1\n          aws_access_key_id: AKIA\n          aws_region_name: eu-west-1`,
        /'litellm_auth_config' keys 'aws_access_key_id', 'aws_region_name' cannot be honoured/,
      ],
      [`        litellm_api_key: sk-x`, /'litellm_api_base' is required .* LiteLLM proxy/],
    ];
    for (const [config, message] of cases) {
      await expect(
        startGateway(`endpoints:\n${endpoint('bad', 'chat', 'gpt-4o-mini', config)}\n`),
      ).rejects.toThrow(message);
    }
  });
});
