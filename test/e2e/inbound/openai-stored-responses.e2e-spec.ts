import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { Client } from 'pg';
import { UsageRecorder } from 'src/modules/billing/usage-recorder.service';
import { call } from 'test/e2e/support/admin-client';
import { member } from 'test/e2e/security/support';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

/*
 * Stored responses through OpenAI's own SDK: `store` (OpenAI's default) keeps an answer, JSON or
 * streamed, for the caller's team; `responses.retrieve`, `.delete` and `.inputItems.list` read it back;
 * `previous_response_id` sends the earlier turns upstream again; other teams see nothing.
 */

type Json = Record<string, unknown>;

describe('OpenAI Responses API: stored responses and previous_response_id', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let alpha: OpenAI;
  let beta: OpenAI;
  let alphaKey = '';

  const sdk = (key: string, path = '/v1') =>
    new OpenAI({ apiKey: key, baseURL: `${gateway.url}${path}`, maxRetries: 0 });
  const upstreamMessages = (at: number) =>
    (mock.requests[at].body.messages as Json[]).map((m) => [m.role, m.content]);

  beforeAll(async () => {
    mock = await startOpenAIMock();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('gpt-chat', 'gpt-4o-mini', mock.url)}
`);
    const keys: string[] = [];
    for (const team of ['resp-alpha', 'resp-beta']) {
      const who = await member(gateway, team, ['developer']);
      const grant = await call(gateway.url, 'POST', '/admin/v1/grants', gateway.authHeaders(), {
        teamId: who.teamId,
        endpointPattern: 'gpt-*',
      });
      expect(grant.status).toBe(201);
      keys.push(who.key);
    }
    alphaKey = keys[0];
    alpha = sdk(keys[0]);
    beta = sdk(keys[1]);
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('create → retrieve → a previous_response_id follow-up carries the first turn upstream', async () => {
    const first = await alpha.responses.create({
      model: 'gpt-chat',
      instructions: 'Be terse.',
      input: 'my name is Ada',
      metadata: { ticket: 'T-1' },
    });
    expect(first.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect([(first as unknown as Json).store, first.previous_response_id, first.metadata]).toEqual([
      true,
      null,
      { ticket: 'T-1' },
    ]);
    // The upstream never sees the Responses-only fields.
    expect(Object.keys(mock.requests.at(-1)!.body)).not.toEqual(
      expect.arrayContaining(['store', 'previous_response_id', 'metadata']),
    );

    const retrieved = await alpha.responses.retrieve(first.id);
    expect(retrieved).toEqual(first);

    const before = mock.requests.length;
    const requestId = `stored-follow-up-${randomUUID()}`;
    const second = await alpha.responses.create(
      { model: 'gpt-chat', input: 'what is my name?', previous_response_id: first.id },
      { headers: { 'x-request-id': requestId } },
    );
    expect(second.previous_response_id).toBe(first.id);
    expect(second.instructions).toBeNull();
    expect(second.output_text).toBe('echo: what is my name?');
    // The first turn's input and output went up again; its instructions did not (OpenAI's rule).
    expect(upstreamMessages(before)).toEqual([
      ['user', 'my name is Ada'],
      ['assistant', 'echo: my name is Ada'],
      ['user', 'what is my name?'],
    ]);
    // The mock counts words: 4 + 5 + 4 prompt tokens, billed like any call in the ledger.
    expect(second.usage?.input_tokens).toBe(13);
    await gateway.app.get(UsageRecorder).flush();
    const db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
    try {
      const rows = await db.query<{ prompt_tokens: number; endpoint: string; status: number }>(
        'SELECT prompt_tokens, endpoint, status FROM usage_records WHERE request_id = $1',
        [requestId],
      );
      expect(rows.rows).toEqual([{ prompt_tokens: 13, endpoint: 'gpt-chat', status: 200 }]);
    } finally {
      await db.end();
    }

    // A third turn continues the whole chain, not just the last turn.
    const third = await alpha.responses.create({
      model: 'gpt-chat',
      input: [{ role: 'user', content: 'and again?' }],
      previous_response_id: second.id,
    });
    expect(third.status).toBe('completed');
    expect(upstreamMessages(mock.requests.length - 1)).toEqual([
      ['user', 'my name is Ada'],
      ['assistant', 'echo: my name is Ada'],
      ['user', 'what is my name?'],
      ['assistant', 'echo: what is my name?'],
      ['user', 'and again?'],
    ]);

    // input_items: every item the third response was generated from, newest first by default.
    const items = await alpha.responses.inputItems.list(third.id);
    const texts = items.data.map((i) => {
      const item = i as { role: string; content: { text: string }[] };
      return `${item.role}:${item.content[0].text}`;
    });
    expect(texts).toEqual([
      'user:and again?',
      'assistant:echo: what is my name?',
      'user:what is my name?',
      'assistant:echo: my name is Ada',
      'user:my name is Ada',
    ]);
    const page = await call(gateway.url, 'GET', `/v1/responses/${third.id}/input_items?order=asc&limit=2`, {
      authorization: `Bearer ${alphaKey}`,
    });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ object: 'list', has_more: true });
    expect((page.body.data as Json[]).map((i) => i.role)).toEqual(['user', 'assistant']);
    expect(page.body.first_id).toBe((page.body.data as Json[])[0].id);
  });

  it('a function call continued with only its output and previous_response_id (the agent loop)', async () => {
    const tools = [
      {
        type: 'function' as const,
        name: 'get_weather',
        parameters: { type: 'object', properties: { location: { type: 'string' } } },
        strict: false,
      },
    ];
    const first = await alpha.responses.create({
      model: 'gpt-chat',
      input: 'What is the weather in Paris?',
      tools,
      tool_choice: 'required',
    });
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
    const before = mock.requests.length;
    const second = await alpha.responses.create({
      model: 'gpt-chat',
      previous_response_id: first.id,
      tools,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
    });
    expect(second.status).toBe('completed');
    expect(mock.requests[before].body.messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: call.call_id,
            type: 'function',
            function: { name: 'get_weather', arguments: call.arguments },
          },
        ],
      },
      { role: 'tool', tool_call_id: call.call_id, content: 'sunny' },
    ]);
  });

  it('a streamed response is stored as response.completed carried it', async () => {
    const stream = await alpha.responses.create({
      model: 'gpt-chat',
      input: 'stream and keep',
      stream: true,
    });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === 'response.completed') completed = event.response;
    expect(completed?.output_text ?? completed?.output.length).toBeTruthy();
    const retrieved = await alpha.responses.retrieve(completed!.id);
    expect(retrieved).toMatchObject({
      id: completed!.id,
      status: 'completed',
      store: true,
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'echo: stream and keep' }] }],
      usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
    });
    // A streamed turn can be continued like any other.
    const before = mock.requests.length;
    await alpha.responses.create({ model: 'gpt-chat', input: 'next', previous_response_id: completed!.id });
    expect(upstreamMessages(before)).toEqual([
      ['user', 'stream and keep'],
      ['assistant', 'echo: stream and keep'],
      ['user', 'next'],
    ]);
  });

  it('delete, then 404 on retrieve, on delete and as a previous_response_id (400, as OpenAI)', async () => {
    const response = await alpha.responses.create({ model: 'gpt-chat', input: 'forget me' });
    expect(await alpha.responses.delete(response.id)).toEqual({
      id: response.id,
      object: 'response',
      deleted: true,
    });
    const passthrough = await call(gateway.url, 'GET', `/gateway/openai/v1/responses/${response.id}`, {
      authorization: `Bearer ${alphaKey}`,
    });
    expect(passthrough.status).toBe(404);
    await expect(alpha.responses.retrieve(response.id)).rejects.toMatchObject({
      status: 404,
      error: { message: `Response with id '${response.id}' not found.`, type: 'invalid_request_error' },
    });
    await expect(alpha.responses.delete(response.id)).rejects.toMatchObject({ status: 404 });
    const before = mock.requests.length;
    await expect(
      alpha.responses.create({ model: 'gpt-chat', input: 'x', previous_response_id: response.id }),
    ).rejects.toMatchObject({
      status: 400,
      error: {
        message: `Previous response with id '${response.id}' not found.`,
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      },
    });
    expect(mock.requests.length).toBe(before);
  });

  it("another team's response is 404 on every path, and cannot be continued", async () => {
    const secret = await alpha.responses.create({ model: 'gpt-chat', input: 'the code is 4711' });
    await expect(beta.responses.retrieve(secret.id)).rejects.toMatchObject({ status: 404 });
    await expect(beta.responses.inputItems.list(secret.id)).rejects.toMatchObject({ status: 404 });
    await expect(beta.responses.delete(secret.id)).rejects.toMatchObject({ status: 404 });
    const before = mock.requests.length;
    await expect(
      beta.responses.create({
        model: 'gpt-chat',
        input: 'what is the code?',
        previous_response_id: secret.id,
      }),
    ).rejects.toMatchObject({ status: 400, error: { code: 'previous_response_not_found' } });
    expect(mock.requests.length).toBe(before);
    // Still there for its owner, at MLflow 3's passthrough path too.
    const own = await sdk(alphaKey, '/gateway/openai/v1').responses.retrieve(secret.id);
    expect(own.output_text).toBe('echo: the code is 4711');
  });

  it('store: false answers normally and keeps nothing', async () => {
    const response = await alpha.responses.create({ model: 'gpt-chat', input: 'ephemeral', store: false });
    expect([(response as unknown as Json).store, response.output_text]).toEqual([false, 'echo: ephemeral']);
    await expect(alpha.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
    const db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
    try {
      const rows = await db.query('SELECT id FROM stored_responses WHERE id = $1', [response.id]);
      expect(rows.rowCount).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('bad state fields are 400s naming the parameter', async () => {
    const cases: [Json, string][] = [
      [{ store: 'yes' }, 'store'],
      [{ previous_response_id: 42 }, 'previous_response_id'],
      [{ metadata: { n: 1 } }, 'metadata.n'],
      [{ conversation: 'conv_1' }, 'conversation'],
      [{ background: true }, 'background'],
    ];
    for (const [extra, param] of cases) {
      const res = await call(
        gateway.url,
        'POST',
        '/v1/responses',
        { authorization: `Bearer ${alphaKey}` },
        { model: 'gpt-chat', input: 'x', ...extra },
      );
      expect([res.status, res.body.error.param]).toEqual([400, param]);
    }
  });
});

describe('stored responses on embedded PGlite (the laptop mode)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;

  beforeAll(async () => {
    mock = await startOpenAIMock();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    gateway = await startGateway(`endpoints:\n${openaiEndpoint('gpt-chat', 'gpt-4o-mini', mock.url)}\n`, {
      embedded: true,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('create, retrieve and continue work the same', async () => {
    const client = new OpenAI({ apiKey: gateway.apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const first = await client.responses.create({ model: 'gpt-chat', input: 'embedded hello' });
    expect((await client.responses.retrieve(first.id)).output_text).toBe('echo: embedded hello');
    await client.responses.create({ model: 'gpt-chat', input: 'again', previous_response_id: first.id });
    expect((mock.requests.at(-1)!.body.messages as Json[]).map((m) => m.content)).toEqual([
      'embedded hello',
      'echo: embedded hello',
      'again',
    ]);
  });
});
