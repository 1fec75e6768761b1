import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import {
  ensurePythonVenv,
  failure,
  MlflowClientCheck,
  ok,
  runMlflowClientCheck,
  SETUP_TIMEOUT_MS,
} from 'test/e2e/support/python';

/**
 * The real MLflow Python deployments client (`mlflow.deployments.get_deploy_client(url)`, pinned by
 * scripts/setup-python.sh), unchanged, against Gatehouse. test/e2e/mlflow_client_check.py makes the
 * calls once and reports every outcome as JSON; the tests below assert on that report.
 */
describe('MLflow Python deployments client against Gatehouse (PostgreSQL)', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let check: MlflowClientCheck;
  const CHAT_LIMIT = '    limit:\n      calls: 1000\n      renewal_period: minute';

  beforeAll(async () => {
    // First run on a machine creates .venv and installs MLflow; later runs are a fast no-op.
    await ensurePythonVenv();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    gateway = await startGateway(`
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url, 'llm/v1/chat', CHAT_LIMIT)}
${openaiEndpoint('completions', 'gpt-3.5-turbo-instruct', mock.url, 'llm/v1/completions')}
${openaiEndpoint('embeddings', 'text-embedding-3-small', mock.url, 'llm/v1/embeddings')}
${openaiEndpoint('chat-b', 'gpt-4o', mock.url)}
${openaiEndpoint('too-long', 'mock-400', mock.url)}
routes:
  - name: pinned-route
    task_type: llm/v1/chat
    destinations:
      - name: chat-b
        traffic_percentage: 100
  - name: split-route
    task_type: llm/v1/chat
    destinations:
      - name: chat
        traffic_percentage: 50
      - name: chat-b
        traffic_percentage: 50
`);
    check = await runMlflowClientCheck(gateway.url, gateway.apiKey);
  }, SETUP_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  const upstreamModels = () => mock.requests.map((request) => [request.path, request.body.model]);

  it('uses the pinned MLflow release and its http deploy-client plugin', () => {
    expect(check.mlflow_version).toBe('3.17.2');
    expect(check.client_class).toBe('MlflowDeploymentClient');
  });

  it('list_endpoints returns every endpoint, without the traffic routes, with absolute endpoint_urls', () => {
    const endpoints = ok(check.list_endpoints);
    expect(endpoints.map((endpoint) => endpoint.name)).toEqual([
      'chat',
      'completions',
      'embeddings',
      'chat-b',
      'too-long',
    ]);
    expect(
      endpoints.map((endpoint) => [endpoint.endpoint_type, endpoint.model, endpoint.endpoint_url]),
    ).toEqual([
      ['llm/v1/chat', { name: 'gpt-4o-mini', provider: 'openai' }, `${gateway.url}/gateway/chat/invocations`],
      [
        'llm/v1/completions',
        { name: 'gpt-3.5-turbo-instruct', provider: 'openai' },
        `${gateway.url}/gateway/completions/invocations`,
      ],
      [
        'llm/v1/embeddings',
        { name: 'text-embedding-3-small', provider: 'openai' },
        `${gateway.url}/gateway/embeddings/invocations`,
      ],
      ['llm/v1/chat', { name: 'gpt-4o', provider: 'openai' }, `${gateway.url}/gateway/chat-b/invocations`],
      [
        'llm/v1/chat',
        { name: 'mock-400', provider: 'openai' },
        `${gateway.url}/gateway/too-long/invocations`,
      ],
    ]);
    expect(endpoints.map((endpoint) => endpoint.limit)).toEqual([
      { calls: 1000, key: null, renewal_period: 'minute' },
      null,
      null,
      null,
      null,
    ]);
  });

  it('get_endpoint parses into MLflow’s Endpoint model with type, model, endpoint_url and limit', () => {
    expect(ok(check.get_endpoint)).toEqual({
      name: 'chat',
      endpoint_type: 'llm/v1/chat',
      model: { name: 'gpt-4o-mini', provider: 'openai' },
      endpoint_url: `${gateway.url}/gateway/chat/invocations`,
      limit: { calls: 1000, key: null, renewal_period: 'minute' },
    });
  });

  it('get_endpoint on a traffic route or an unknown name fails with a 404 carrying the MLflow detail', () => {
    for (const [step, name] of [
      [check.get_endpoint_route, 'split-route'],
      [check.get_endpoint_unknown, 'no-such-endpoint'],
    ] as const) {
      const error = failure(step);
      expect(error).toMatchObject({ type: 'HTTPError', module: 'requests.exceptions', status_code: 404 });
      expect(error.message).toBe(
        `404 Client Error: Not Found for url: ${gateway.url}/api/2.0/endpoints/${name}. Response text: ` +
          `{"detail":"The endpoint '${name}' is not present or active on the server. Please verify the endpoint name."}`,
      );
    }
  });

  it('predict on a chat endpoint returns the MLflow chat response', () => {
    const chat = ok(check.predict_chat);
    expect(chat.object).toBe('chat.completion');
    expect(chat.model).toBe('gpt-4o-mini-2024-07-18');
    expect(chat.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: 'echo: hello from mlflow', tool_calls: null, refusal: null },
        finish_reason: 'stop',
      },
    ]);
    expect(chat.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    const upstream = mock.requests.find((request) => request.body.model === 'gpt-4o-mini');
    expect(upstream?.path).toBe('/v1/chat/completions');
    expect(upstream?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello from mlflow' }],
      temperature: 0,
    });
  });

  it('predict on a completions endpoint returns text choices and usage', () => {
    const completion = ok(check.predict_completions);
    expect(completion.object).toBe('text_completion');
    expect(completion.model).toBe('gpt-3.5-turbo-instruct');
    expect(
      completion.choices.map(({ index, text, finish_reason }) => ({ index, text, finish_reason })),
    ).toEqual([{ index: 0, text: 'echo: say this', finish_reason: 'stop' }]);
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const upstream = mock.requests.find((request) => request.path === '/v1/completions');
    expect(upstream?.body).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'say this', max_tokens: 5 });
  });

  it('predict on an embeddings endpoint returns one vector per input', () => {
    const embeddings = ok(check.predict_embeddings);
    expect(embeddings.object).toBe('list');
    expect(embeddings.model).toBe('text-embedding-3-small');
    expect(embeddings.data).toEqual([
      { object: 'embedding', index: 0, embedding: [0.07, 0.2, 0] },
      { object: 'embedding', index: 1, embedding: [0.05, 0.1, 1] },
    ]);
    expect(embeddings.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it('predict on a traffic route is answered by its destination endpoints', () => {
    const pinned = ok(check.predict_pinned_route);
    expect(pinned.model).toBe('gpt-4o-2024-07-18');
    expect(pinned.choices[0].message.content).toBe('echo: hello from mlflow');
    expect(pinned.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });

    const split = ok(check.predict_split_route);
    expect(['gpt-4o-mini-2024-07-18', 'gpt-4o-2024-07-18']).toContain(split.model);
    expect(split.object).toBe('chat.completion');
    expect(split.choices[0].message.content).toBe('echo: hello from mlflow');
    expect(split.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it('sends exactly one upstream request per successful predict and the failing one, in call order', () => {
    expect(upstreamModels()).toEqual([
      ['/v1/chat/completions', 'gpt-4o-mini'],
      ['/v1/completions', 'gpt-3.5-turbo-instruct'],
      ['/v1/embeddings', 'text-embedding-3-small'],
      ['/v1/chat/completions', 'gpt-4o'],
      ['/v1/chat/completions', expect.stringMatching(/^gpt-4o(-mini)?$/)],
      ['/v1/chat/completions', 'mock-400'],
    ]);
  });

  it('predict on an unknown endpoint raises the client’s HTTPError for a 404 (not an MlflowException)', () => {
    // MLflow's client raises requests' HTTPError from augmented_raise_for_status for any non-2xx answer;
    // only transport failures and timeouts become MlflowException.
    const error = failure(check.predict_unknown);
    expect(error).toEqual({
      type: 'HTTPError',
      module: 'requests.exceptions',
      is_mlflow_exception: false,
      is_http_error: true,
      status_code: 404,
      message:
        `404 Client Error: Not Found for url: ${gateway.url}/endpoints/no-such-endpoint/invocations. ` +
        'Response text: {"detail":"Not Found"}',
    });
  });

  it('an upstream 4xx reaches the exception message with the provider’s error text', () => {
    const error = failure(check.predict_upstream_400);
    expect(error).toMatchObject({ type: 'HTTPError', is_mlflow_exception: false, status_code: 400 });
    expect(error.message).toBe(
      `400 Client Error: Bad Request for url: ${gateway.url}/endpoints/too-long/invocations. ` +
        `Response text: {"detail":"This model's maximum context length is 8192 tokens."}`,
    );
  });

  it('predict_stream is not implemented by MLflow’s client (streaming is not a deployments-client feature)', () => {
    expect(failure(check.predict_stream)).toMatchObject({ type: 'NotImplementedError', module: 'builtins' });
  });
});
