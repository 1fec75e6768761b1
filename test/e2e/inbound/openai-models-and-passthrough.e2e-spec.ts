import OpenAI from 'openai';
import { call } from 'test/e2e/support/admin-client';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';

/*
 * The OpenAI SDK's models.retrieve (GET /v1/models/{id}), and MLflow 3's OpenAI passthrough paths
 * (/gateway/openai/v1/chat/completions and /embeddings) with the SDK's base URL pointed at them.
 */
describe('OpenAI models.retrieve and the /gateway/openai passthrough paths', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let admin: OpenAI;
  let teamKey = '';

  beforeAll(async () => {
    mock = await startOpenAIMock();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('gpt-chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('gpt-embed', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('other-chat', 'gpt-4o-mini', mock.url)}
routes:
  - name: mixed-split
    task_type: llm/v1/chat
    destinations:
      - { name: gpt-chat, traffic_percentage: 70 }
      - { name: other-chat, traffic_percentage: 30 }
`);
    admin = new OpenAI({ apiKey: gateway.apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const headers = gateway.authHeaders();
    const team = await call(gateway.url, 'POST', '/admin/v1/teams', headers, { name: 'gpt-users' });
    await call(gateway.url, 'POST', '/admin/v1/grants', headers, {
      teamId: team.body.id,
      endpointPattern: 'gpt-*',
    });
    const principal = await call(gateway.url, 'POST', '/admin/v1/principals', headers, {
      kind: 'service',
      name: 'gpt-app',
      teamId: team.body.id,
      roles: ['developer'],
    });
    const key = await call(gateway.url, 'POST', '/admin/v1/keys', headers, {
      name: 'k',
      principalId: principal.body.id,
    });
    expect(key.status).toBe(201);
    teamKey = key.body.key as string;
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('models.retrieve: an endpoint and a traffic route, as in the model list', async () => {
    const model = await admin.models.retrieve('gpt-chat');
    const list = await admin.models.list();
    expect(model).toEqual({
      id: 'gpt-chat',
      object: 'model',
      created: expect.any(Number),
      owned_by: 'openai',
    });
    expect(list.data.find((m) => m.id === 'gpt-chat')).toEqual(model);
    expect(await admin.models.retrieve('mixed-split')).toMatchObject({
      id: 'mixed-split',
      owned_by: 'gatehouse',
    });
  });

  it('models.retrieve: unknown and not-visible ids are 404 in OpenAI error format', async () => {
    const unknown = await admin.models.retrieve('no-such-model').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).error).toEqual({
      message: "The model 'no-such-model' does not exist or you do not have access to it.",
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    const scoped = new OpenAI({ apiKey: teamKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect(await scoped.models.retrieve('gpt-chat')).toMatchObject({ id: 'gpt-chat' });
    const hidden = await scoped.models.retrieve('other-chat').catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(OpenAI.NotFoundError);
    expect((hidden as InstanceType<typeof OpenAI.NotFoundError>).status).toBe(404);
    expect((await scoped.models.list()).data.map((m) => m.id).sort()).toEqual(['gpt-chat', 'gpt-embed']);
    expect(await scoped.models.retrieve('mixed-split').catch((e: unknown) => e)).toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });

  it("MLflow's listing leaves traffic routes out, as MLflow's gateway does; its 3.0 paths show each", async () => {
    const headers = gateway.authHeaders();
    const list = await call(gateway.url, 'GET', '/api/2.0/endpoints/', headers);
    expect((list.body.endpoints as { name: string }[]).map((e) => e.name)).toEqual([
      'gpt-chat',
      'gpt-embed',
      'other-chat',
    ]);
    expect((await call(gateway.url, 'GET', '/api/2.0/endpoints/mixed-split', headers)).status).toBe(404);
    const route = await call(gateway.url, 'GET', '/api/3.0/gateway/route/mixed-split', headers);
    expect([route.status, route.body]).toEqual([
      200,
      {
        name: 'mixed-split',
        task_type: 'llm/v1/chat',
        destinations: [
          { name: 'gpt-chat', traffic_percentage: 70 },
          { name: 'other-chat', traffic_percentage: 30 },
        ],
        routing_strategy: 'TRAFFIC_SPLIT',
      },
    ]);
    const endpoint = await call(gateway.url, 'GET', '/api/3.0/gateway/endpoint/gpt-chat', headers);
    expect([endpoint.status, endpoint.body]).toEqual([
      200,
      {
        name: 'gpt-chat',
        endpoint_type: 'llm/v1/chat',
        model: { name: 'gpt-4o-mini', provider: 'openai' },
        endpoint_url: '/gateway/gpt-chat/invocations',
        limit: null,
      },
    ]);
    const notARoute = await call(gateway.url, 'GET', '/api/3.0/gateway/route/gpt-chat', headers);
    expect([notARoute.status, notARoute.body]).toEqual([
      404,
      {
        detail: "The route 'gpt-chat' is not present or active on the server. Please verify the route name.",
      },
    ]);
    // A route the caller may not invoke is as unknown to it as a missing one.
    const hidden = await call(gateway.url, 'GET', '/api/3.0/gateway/route/mixed-split', {
      authorization: `Bearer ${teamKey}`,
    });
    expect(hidden.status).toBe(404);
  });

  it('/gateway/openai/v1: chat (JSON and stream) and embeddings through the SDK', async () => {
    const passthrough = new OpenAI({
      apiKey: gateway.apiKey,
      baseURL: `${gateway.url}/gateway/openai/v1`,
      maxRetries: 0,
    });
    const chat = await passthrough.chat.completions.create({
      model: 'gpt-chat',
      messages: [{ role: 'user', content: 'through the passthrough' }],
    });
    expect(chat.choices[0].message.content).toBe('echo: through the passthrough');
    expect(chat.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });

    const stream = await passthrough.chat.completions.create({
      model: 'gpt-chat',
      messages: [{ role: 'user', content: 'stream it' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: stream it');

    const embeddings = await passthrough.embeddings.create({ model: 'gpt-embed', input: ['a', 'b'] });
    expect(embeddings.data.map((d) => d.index)).toEqual([0, 1]);
    expect(embeddings.data[0].embedding.length).toBeGreaterThan(0);
    expect(mock.requests[mock.requests.length - 1]).toMatchObject({
      path: '/v1/embeddings',
      body: { model: 'text-embedding-3-small', input: ['a', 'b'] },
    });

    const unknown = await passthrough.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
      code: 'model_not_found',
    });
  });
});
