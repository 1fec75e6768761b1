import {
  CanonicalChunk,
  CanonicalRequest,
  ChatCompletion,
  Embeddings,
  Operation,
  ProviderAuthError,
  TargetContext,
  UpstreamRequest,
} from 'src/modules/providers/provider-adapter';
import { BedrockAdapter } from 'src/modules/providers/adapters/bedrock/bedrock.adapter';
import { BedrockConfig } from 'src/modules/providers/adapters/bedrock/bedrock-config';
import { EventStreamDecoder } from 'src/modules/providers/adapters/bedrock/event-stream.decoder';
import {
  BEDROCK_MOCK_ACCESS_KEY_ID,
  BEDROCK_MOCK_API_KEY,
  BEDROCK_MOCK_SECRET_ACCESS_KEY,
  BedrockMock,
  mockEmbedding,
  SIGNATURE_MISMATCH,
  startBedrockMock,
} from 'test/mocks/bedrock-mock.server';

/** Drives the local Bedrock mock with the adapter's own signed requests: adapter, signer and mock agree on the wire. */

let mock: BedrockMock;

beforeAll(async () => {
  mock = await startBedrockMock();
});

afterAll(async () => {
  await mock.close();
});

function target(
  awsConfig: Record<string, unknown>,
  modelName = 'anthropic.claude-3-5-sonnet-20240620-v1:0',
  adapter = new BedrockAdapter(),
): { adapter: BedrockAdapter; target: TargetContext<BedrockConfig> } {
  return {
    adapter,
    target: {
      endpointName: 'mock',
      endpointType: 'llm/v1/chat',
      modelName,
      config: adapter.parseConfig(
        {
          aws_config: {
            aws_region: mock.region,
            aws_endpoint_url: mock.url,
            aws_sts_endpoint_url: mock.url,
            ...awsConfig,
          },
        },
        'bedrock',
        modelName,
      ),
    },
  };
}

const KEYS = {
  aws_access_key_id: BEDROCK_MOCK_ACCESS_KEY_ID,
  aws_secret_access_key: BEDROCK_MOCK_SECRET_ACCESS_KEY,
};

async function send(request: UpstreamRequest): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  };
}

async function call(
  setup: ReturnType<typeof target>,
  op: Operation,
  request: CanonicalRequest,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const built = setup.adapter.buildRequest(op, request, setup.target, false);
  return send(await setup.adapter.authorize(built, setup.target));
}

describe('Bedrock adapter against the local Bedrock mock', () => {
  it('signs a Converse call with static keys that the mock verifies, and reads the answer', async () => {
    const setup = target(KEYS);
    const response = await call(setup, 'chat', {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello from bedrock' },
      ],
    });
    expect(response.status).toBe(200);
    const completion = setup.adapter.parseResponse(
      'chat',
      JSON.parse(response.body.toString()),
      setup.target,
    ) as ChatCompletion;
    expect(completion.choices[0].message.content).toBe('echo: hello from bedrock');
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
    const seen = mock.requests[mock.requests.length - 1];
    expect(seen.principal).toBe(BEDROCK_MOCK_ACCESS_KEY_ID);
    expect(seen.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(String(seen.headers.authorization)).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${BEDROCK_MOCK_ACCESS_KEY_ID}/\\d{8}/us-east-1/bedrock/aws4_request, `,
      ),
    );
  });

  it('is refused with InvalidSignatureException when the secret is wrong, or the body changed after signing', async () => {
    const wrong = target({ ...KEYS, aws_secret_access_key: 'not-the-secret' });
    const refused = await call(wrong, 'chat', { messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException:/);
    const info = wrong.adapter.parseError(403, JSON.parse(refused.body.toString()), {
      'x-amzn-errortype': refused.headers.get('x-amzn-errortype')!,
    });
    expect(info).toEqual({ message: SIGNATURE_MISMATCH, type: 'InvalidSignatureException' });

    const right = target(KEYS);
    const built = right.adapter.buildRequest(
      'chat',
      { messages: [{ role: 'user', content: 'a' }] },
      right.target,
      false,
    );
    const signed = await right.adapter.authorize(built, right.target);
    const body = signed.body.replace('"a"', '"b"');
    const tampered = await send({ ...signed, body });
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('x-amzn-errortype')).toMatch(/^XAmzContentSHA256Mismatch:/);
    const headers = { ...signed.headers };
    delete headers['x-amz-content-sha256'];
    const unhashed = await send({ ...signed, headers, body });
    expect(unhashed.status).toBe(403);
    expect(JSON.parse(unhashed.body.toString())).toEqual({ message: SIGNATURE_MISMATCH });
  });

  it('assumes a role through STS once, signs with the temporary keys and session token', async () => {
    const setup = target({ ...KEYS, aws_role_arn: 'arn:aws:iam::123456789012:role/bedrock-invoker' });
    const before = mock.assumedRoles.length;
    for (const text of ['one', 'two']) {
      const response = await call(setup, 'chat', { messages: [{ role: 'user', content: text }] });
      expect(response.status).toBe(200);
    }
    expect(mock.assumedRoles.length - before).toBe(1);
    const role = mock.assumedRoles[mock.assumedRoles.length - 1];
    expect(role).toMatchObject({
      roleArn: 'arn:aws:iam::123456789012:role/bedrock-invoker',
      sessionName: 'ai-gateway-bedrock',
      durationSeconds: 900,
    });
    const seen = mock.requests[mock.requests.length - 1];
    expect(seen.principal).toBe(role.accessKeyId);
    expect(seen.headers['x-amz-security-token']).toBeDefined();
  });

  it('keeps the assumed-role credentials across a config reload of the same aws_config', async () => {
    const adapter = new BedrockAdapter();
    const role = { ...KEYS, aws_role_arn: 'arn:aws:iam::123456789012:role/reloaded' };
    const before = mock.assumedRoles.length;
    for (const text of ['before reload', 'after reload']) {
      // Each iteration parses the config afresh, as a reload does.
      const response = await call(target(role, undefined, adapter), 'chat', {
        messages: [{ role: 'user', content: text }],
      });
      expect(response.status).toBe(200);
    }
    expect(mock.assumedRoles.length - before).toBe(1);
  });

  it('reports an STS refusal as a ProviderAuthError naming no secret', async () => {
    const setup = target({
      aws_access_key_id: 'AKIAUNKNOWN000000000',
      aws_secret_access_key: 'whatever-secret',
      aws_role_arn: 'arn:aws:iam::123456789012:role/bedrock-invoker',
    });
    const built = setup.adapter.buildRequest(
      'chat',
      { messages: [{ role: 'user', content: 'x' }] },
      setup.target,
      false,
    );
    const error = await setup.adapter.authorize(built, setup.target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderAuthError);
    expect((error as Error).message).not.toContain('whatever-secret');
  });

  it('sends a Bedrock API key as a bearer token without signing', async () => {
    const setup = target({ aws_bearer_token: BEDROCK_MOCK_API_KEY });
    const response = await call(setup, 'chat', { messages: [{ role: 'user', content: 'bearer here' }] });
    expect(response.status).toBe(200);
    expect(mock.requests[mock.requests.length - 1].principal).toBe('bearer');
  });

  it('decodes ConverseStream binary frames fed in 3-byte pieces into chunks with tool calls and usage', async () => {
    const setup = target(KEYS);
    const built = setup.adapter.buildRequest(
      'chat',
      {
        messages: [{ role: 'user', content: 'what is the weather' }],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      },
      setup.target,
      true,
    );
    const response = await send(await setup.adapter.authorize(built, setup.target));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    const decoder = new EventStreamDecoder();
    const translator = setup.adapter.createStreamTranslator('chat', setup.target);
    const chunks: CanonicalChunk[] = [];
    let done = false;
    for (let i = 0; i < response.body.length; i += 3) {
      for (const event of decoder.feed(response.body.subarray(i, i + 3))) {
        const step = translator.push(event);
        chunks.push(...step.chunks);
        if (step.done) done = true;
      }
    }
    expect(decoder.end()).toEqual([]);
    expect(done).toBe(true);
    const args = chunks
      .flatMap((c) =>
        'delta' in (c.choices[0] ?? {})
          ? ((c as { choices: { delta: { tool_calls?: { function?: { arguments?: string } }[] } }[] })
              .choices[0].delta.tool_calls ?? [])
          : [],
      )
      .map((t) => t.function?.arguments ?? '')
      .join('');
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
    expect(chunks[chunks.length - 1].usage).toEqual({
      prompt_tokens: 4,
      completion_tokens: 1,
      total_tokens: 5,
    });
  });

  it('embeds with Titan (one text) and Cohere (a batch) through InvokeModel', async () => {
    const titan = target(KEYS, 'amazon.titan-embed-text-v2:0');
    const t = await call(titan, 'embeddings', { input: 'hello embeddings world', dimensions: 4 });
    expect(t.status).toBe(200);
    const titanOut = titan.adapter.parseResponse(
      'embeddings',
      JSON.parse(t.body.toString()),
      titan.target,
    ) as Embeddings;
    expect(titanOut.data[0].embedding).toEqual(mockEmbedding('hello embeddings world', 4));
    expect(titanOut.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });

    const cohere = target(KEYS, 'cohere.embed-multilingual-v3');
    const c = await call(cohere, 'embeddings', { input: ['un', 'deux'] });
    expect(c.status).toBe(200);
    const cohereOut = cohere.adapter.parseResponse(
      'embeddings',
      JSON.parse(c.body.toString()),
      cohere.target,
    ) as Embeddings;
    expect(cohereOut.data.map((d) => d.embedding)).toEqual([mockEmbedding('un'), mockEmbedding('deux')]);
  });
});
