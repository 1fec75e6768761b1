import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { call } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import {
  BEDROCK_MOCK_ACCESS_KEY_ID,
  BEDROCK_MOCK_API_KEY,
  BEDROCK_MOCK_SECRET_ACCESS_KEY,
  BedrockMock,
  mockEmbedding,
  MOCK_TOOL_INPUT,
  startBedrockMock,
} from 'test/mocks/bedrock-mock.server';

const CLAUDE = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/gatehouse-bedrock';
const WRONG_SECRET = 'wrong/Secret+Key/that/the/mock/does/not/know';

/** The whole gateway against the local Bedrock mock, which verifies every SigV4 signature it receives. */
describe('Amazon Bedrock through the real app', () => {
  let mock: BedrockMock;
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    process.env.MOCK_AWS_SECRET = BEDROCK_MOCK_SECRET_ACCESS_KEY;
    process.env.MOCK_AWS_WRONG_SECRET = WRONG_SECRET;
    process.env.MOCK_BEDROCK_API_KEY = BEDROCK_MOCK_API_KEY;
    mock = await startBedrockMock();
    const endpoint = (
      name: string,
      type: string,
      model: string,
      aws: Record<string, string>,
      provider = 'bedrock',
    ) => `
  - name: ${name}
    endpoint_type: ${type}
    model:
      provider: ${provider}
      name: ${model}
      config:
        aws_config:
          aws_region: ${mock.region}
          aws_endpoint_url: ${mock.url}
${Object.entries(aws)
  .map(([key, value]) => `          ${key}: ${value}`)
  .join('\n')}`;
    const keys = { aws_access_key_id: BEDROCK_MOCK_ACCESS_KEY_ID, aws_secret_access_key: '$MOCK_AWS_SECRET' };
    gateway = await startGateway(
      `endpoints:${[
        endpoint('claude', 'llm/v1/chat', CLAUDE, keys),
        endpoint('claude-text', 'llm/v1/completions', CLAUDE, keys),
        endpoint('titan', 'llm/v1/embeddings', 'amazon.titan-embed-text-v2:0', keys),
        endpoint('cohere', 'llm/v1/embeddings', 'cohere.embed-english-v3', keys),
        endpoint('throttled', 'llm/v1/chat', 'mock-throttle', keys),
        endpoint('stream-throttled', 'llm/v1/chat', 'mock-stream-throttle', keys),
        endpoint('wrong-secret', 'llm/v1/chat', CLAUDE, {
          ...keys,
          aws_secret_access_key: '$MOCK_AWS_WRONG_SECRET',
        }),
        endpoint('role', 'llm/v1/chat', CLAUDE, {
          ...keys,
          aws_role_arn: ROLE_ARN,
          session_length_seconds: '1800',
          aws_sts_endpoint_url: mock.url,
        }),
        endpoint('role-refused', 'llm/v1/chat', CLAUDE, {
          aws_access_key_id: 'AKIAUNKNOWNTOTHEMOCK',
          aws_secret_access_key: '$MOCK_AWS_WRONG_SECRET',
          aws_role_arn: ROLE_ARN,
          aws_sts_endpoint_url: mock.url,
        }),
        endpoint(
          'api-key',
          'llm/v1/chat',
          CLAUDE,
          { aws_bearer_token: '$MOCK_BEDROCK_API_KEY' },
          'amazon-bedrock',
        ),
      ].join('')}`,
      // Admin-API endpoints reference stored secrets, which need a master key.
      { env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') } },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.apiKey, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const last = () => mock.requests[mock.requests.length - 1];

  it('chats through Converse with a SigV4-signed request the mock verified', async () => {
    const completion = await client.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello from the gateway' },
      ],
      max_tokens: 50,
      temperature: 0.3,
    });
    expect(completion.choices[0].message.content).toBe('echo: hello from the gateway');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 });
    expect(completion.model).toBe(CLAUDE);
    expect(last().principal).toBe(BEDROCK_MOCK_ACCESS_KEY_ID);
    expect(last().path).toBe(`/model/${encodeURIComponent(CLAUDE)}/converse`);
    expect(last().body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'hello from the gateway' }] }],
      system: [{ text: 'be brief' }],
      inferenceConfig: { maxTokens: 50, temperature: 0.3 },
    });
  });

  it('streams ConverseStream event-stream frames as OpenAI chunks with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'stream these four words' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream these four words');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 });
    expect(last().path).toBe(`/model/${encodeURIComponent(CLAUDE)}/converse-stream`);
    expect(last().principal).toBe(BEDROCK_MOCK_ACCESS_KEY_ID);
  });

  it('turns toolUse into tool calls, and sends tool results back as toolResult blocks', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { location: { type: 'string' } } },
        },
      },
    ];
    const first = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'what is the weather' }],
      tools,
    });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call0 = first.choices[0].message.tool_calls![0];
    expect(call0.type === 'function' && call0.function.name).toBe('get_weather');
    expect(JSON.parse(call0.type === 'function' ? call0.function.arguments : '')).toEqual(MOCK_TOOL_INPUT);

    const second = await client.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'user', content: 'what is the weather' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call0.id, content: 'sunny and 21C' },
      ],
      tools,
    });
    expect(second.choices[0].message.content).toBe('tool said: sunny and 21C');
    expect(last().body).toMatchObject({
      messages: [
        { role: 'user' },
        { role: 'assistant', content: [{ toolUse: { toolUseId: call0.id, input: MOCK_TOOL_INPUT } }] },
        {
          role: 'user',
          content: [{ toolResult: { toolUseId: call0.id, content: [{ text: 'sunny and 21C' }] } }],
        },
      ],
    });

    // Streamed: the tool call arrives as a start delta plus argument pieces.
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'weather please' }],
      tools,
      stream: true,
    });
    let args = '';
    let name: string | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call?.function?.name) name = call.function.name;
      args += call?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect([name, JSON.parse(args), finish]).toEqual(['get_weather', MOCK_TOOL_INPUT, 'tool_calls']);
  });

  it('embeds with Titan and Cohere through InvokeModel', async () => {
    const titan = await call(gateway.url, 'POST', '/v1/embeddings', gateway.authHeaders(), {
      model: 'titan',
      input: 'one two three',
      dimensions: 6,
      encoding_format: 'float',
    });
    expect(titan.status).toBe(200);
    expect(titan.body.data).toEqual([
      { object: 'embedding', embedding: mockEmbedding('one two three', 6), index: 0 },
    ]);
    expect(titan.body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(last().body).toEqual({ inputText: 'one two three', dimensions: 6 });

    const cohere = await call(gateway.url, 'POST', '/v1/embeddings', gateway.authHeaders(), {
      model: 'cohere',
      input: ['alpha', 'beta gamma'],
      encoding_format: 'float',
    });
    expect(cohere.status).toBe(200);
    expect(cohere.body.data.map((d: { embedding: number[] }) => d.embedding)).toEqual([
      mockEmbedding('alpha'),
      mockEmbedding('beta gamma'),
    ]);
    expect(last().body).toEqual({ texts: ['alpha', 'beta gamma'], input_type: 'search_document' });

    // Titan's InvokeModel takes one text: a list is sent as one call per text and joined in order.
    const texts = ['a', 'b c', 'd e f', 'g', 'h i', 'j k l m', 'n'];
    const before = mock.requests.length;
    const batch = await call(gateway.url, 'POST', '/v1/embeddings', gateway.authHeaders(), {
      model: 'titan',
      input: texts,
      dimensions: 4,
    });
    expect(batch.status).toBe(200);
    expect(batch.body.data).toEqual(
      texts.map((text, index) => ({ object: 'embedding', embedding: mockEmbedding(text, 4), index })),
    );
    expect(batch.body.usage).toEqual({ prompt_tokens: 14, total_tokens: 14 });
    const sent = mock.requests.slice(before).map((r) => (r.body as { inputText: string }).inputText);
    expect([...sent].sort()).toEqual([...texts].sort());
  });

  it('answers completions through Converse', async () => {
    const completion = await client.completions.create({
      model: 'claude-text',
      prompt: 'tell me',
      max_tokens: 9,
    });
    expect(completion.choices[0].text).toBe('echo: tell me');
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it('maps ThrottlingException to 429, and an in-stream throttlingException to a terminal error event', async () => {
    const limited = await client.chat.completions
      .create({ model: 'throttled', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).message).toContain(
      'Too many requests, please wait before trying again.',
    );

    // A streaming call refused before its first frame keeps the real status and AWS's message.
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model: 'throttled', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'Too many requests, please wait before trying again.',
    );

    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({
        model: 'stream-throttled',
        stream: true,
        messages: [{ role: 'user', content: 'a b c d e' }],
      }),
    });
    expect(response.status).toBe(200);
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events[events.length - 1]).toContain('"error"');
    expect(events[events.length - 1]).toContain('Too many tokens');
    expect(events).not.toContain('data: [DONE]');
  });

  it('refuses a request the mock could not verify (wrong secret) with a gateway error that leaks no key', async () => {
    const before = mock.requests.length;
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model: 'wrong-secret', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text).error.message).toContain("rejected the gateway's credentials");
    for (const secret of [WRONG_SECRET, BEDROCK_MOCK_SECRET_ACCESS_KEY, 'Signature=']) {
      expect(text).not.toContain(secret);
    }
    // The mock saw the signed request and refused it (no principal).
    expect(mock.requests.length).toBe(before + 1);
    expect(last().principal).toBeUndefined();
    expect(String(last().headers.authorization)).toContain(`Credential=${BEDROCK_MOCK_ACCESS_KEY_ID}/`);
  });

  it('assumes aws_role_arn through STS once and signs with the session credentials', async () => {
    const before = mock.assumedRoles.length;
    for (const content of ['first', 'second']) {
      const completion = await client.chat.completions.create({
        model: 'role',
        messages: [{ role: 'user', content }],
      });
      expect(completion.choices[0].message.content).toBe(`echo: ${content}`);
    }
    expect(mock.assumedRoles.slice(before)).toEqual([
      expect.objectContaining({
        roleArn: ROLE_ARN,
        sessionName: 'ai-gateway-bedrock',
        durationSeconds: 1800,
      }),
    ]);
    expect(last().principal).toBe(mock.assumedRoles[mock.assumedRoles.length - 1].accessKeyId);
  });

  it('answers 502 without detail when STS refuses the role exchange, and sends nothing to Bedrock', async () => {
    const before = mock.requests.length;
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model: 'role-refused', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text).error.message).toBe(
      'The gateway could not obtain credentials for this endpoint; contact the gateway operator.',
    );
    expect(text).not.toContain(WRONG_SECRET);
    // Only the refused STS call(s) reached the mock; no Converse call went out unsigned.
    expect(mock.requests.slice(before).every((r) => r.path === '/' && r.principal === undefined)).toBe(true);
    expect(mock.requests.length).toBeGreaterThan(before);
  });

  it('serves the amazon-bedrock alias with a Bedrock API key, also on the MLflow invocations path', async () => {
    const response = await call(
      gateway.url,
      'POST',
      '/endpoints/api-key/invocations',
      gateway.authHeaders(),
      {
        messages: [{ role: 'user', content: 'via mlflow' }],
      },
    );
    expect(response.status).toBe(200);
    expect(response.body.choices[0].message.content).toBe('echo: via mlflow');
    expect(last().principal).toBe('bearer');
    expect(last().headers.authorization).toBe(`Bearer ${BEDROCK_MOCK_API_KEY}`);
  });

  it('takes an admin-created bedrock endpoint, and lists what is wrong with a bad aws_config', async () => {
    const bad = await call(gateway.url, 'POST', '/admin/v1/endpoints', gateway.authHeaders(), {
      name: 'admin-bad',
      endpoint_type: 'llm/v1/chat',
      model: { provider: 'bedrock', name: CLAUDE, config: { aws_config: { aws_access_key_id: 'AKIAX' } } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('aws_config.aws_region is required');

    // Admin-API config reaches credentials only as stored secrets, never the environment.
    const stored = await call(gateway.url, 'PUT', '/admin/v1/secrets/mock-aws', gateway.authHeaders(), {
      value: BEDROCK_MOCK_SECRET_ACCESS_KEY,
    });
    expect(stored.status).toBeLessThan(300);
    const created = await call(gateway.url, 'POST', '/admin/v1/endpoints', gateway.authHeaders(), {
      name: 'admin-claude',
      endpoint_type: 'llm/v1/chat',
      model: {
        provider: 'amazon-bedrock',
        name: CLAUDE,
        config: {
          aws_config: {
            aws_region: mock.region,
            aws_endpoint_url: mock.url,
            aws_access_key_id: BEDROCK_MOCK_ACCESS_KEY_ID,
            aws_secret_access_key: '$secret:mock-aws',
          },
        },
      },
    });
    expect(created.status).toBe(201);
    const completion = await client.chat.completions.create({
      model: 'admin-claude',
      messages: [{ role: 'user', content: 'made by an admin' }],
    });
    expect(completion.choices[0].message.content).toBe('echo: made by an admin');
    expect(last().principal).toBe(BEDROCK_MOCK_ACCESS_KEY_ID);
  });
});
