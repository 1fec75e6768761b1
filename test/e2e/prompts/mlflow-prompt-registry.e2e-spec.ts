import { join } from 'node:path';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { ensurePythonVenv, runPythonJson, SETUP_TIMEOUT_MS } from 'test/e2e/support/python';
import { startTrackingServer, TrackingServer } from 'test/e2e/registry/mlflow-stack';

const FIXTURE = join(__dirname, 'mlflow_prompt_fixture.py');

/** Endpoints bound to prompts in MLflow's Prompt Registry (`prompts:/<name>@<alias>`), synced like models. */
describe('MLflow Prompt Registry references', () => {
  let tracking: TrackingServer;
  let mock: OpenAIMock;
  let gateway: TestGateway;

  const register = async (name: string, template: string) =>
    ((await runPythonJson(FIXTURE, ['register', tracking.url, name, template])) as { version: number })
      .version;
  const alias = (name: string, to: string, version: number) =>
    runPythonJson(FIXTURE, ['alias', tracking.url, name, to, String(version)]);
  const chat = async (model: string, variables: Record<string, unknown>) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gateway.authHeaders() },
      body: JSON.stringify({ model, variables }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    return {
      status: response.status,
      body,
      prompt: response.headers.get('x-gatehouse-prompt'),
      version: response.headers.get('x-gatehouse-prompt-version'),
      upstream: mock.requests[mock.requests.length - 1]?.body.messages,
    };
  };
  const eventually = async <T>(probe: () => Promise<T>, ok: (value: T) => boolean): Promise<T> => {
    let value = await probe();
    for (let i = 0; i < 60 && !ok(value); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      value = await probe();
    }
    return value;
  };

  beforeAll(async () => {
    await ensurePythonVenv();
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    [tracking, mock] = await Promise.all([startTrackingServer(), startOpenAIMock()]);
    expect(await register('summarize', 'Summarize in {{ words }} words: {{text}}')).toBe(1);
    await alias('summarize', 'production', 1);
    expect(
      await register(
        'support',
        JSON.stringify([
          { role: 'system', content: 'You answer for {{company}}.' },
          { role: 'user', content: '{{question}}' },
        ]),
      ),
    ).toBe(1);
    const gatehouse = (prompt: string) => `    gatehouse:\n      prompt: "${prompt}"\n`;
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('summarizer', 'gpt-4o-mini', mock.url, 'llm/v1/chat', gatehouse('prompts:/summarize@production'))}
${openaiEndpoint('pinned', 'gpt-4o-mini', mock.url, 'llm/v1/chat', gatehouse('prompts:/summarize/1'))}
${openaiEndpoint('support', 'gpt-4o-mini', mock.url, 'llm/v1/chat', gatehouse('prompts:/support@latest'))}
${openaiEndpoint('missing', 'gpt-4o-mini', mock.url, 'llm/v1/chat', gatehouse('prompts:/nope@production'))}
`,
      { env: { MLFLOW_TRACKING_URI: tracking.url, REGISTRY_SYNC_INTERVAL_MS: '300' } },
    );
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await tracking?.stop();
    await tracking?.cleanup();
  });

  it('renders a text prompt from MLflow with the caller’s variables', async () => {
    const result = await chat('summarizer', { words: '5', text: 'a long story' });
    expect(result).toMatchObject({ status: 200, prompt: 'prompts:/summarize', version: '1' });
    expect(result.upstream).toEqual([{ role: 'user', content: 'Summarize in 5 words: a long story' }]);
    // MLflow's variables are untyped text: Gatehouse takes them as strings.
    const typed = await chat('summarizer', { words: 5, text: 'a long story' });
    expect(typed.status).toBe(400);
    expect(JSON.stringify(typed.body)).toContain('words');
  });

  it('renders a chat prompt with its roles, and refuses a missing variable', async () => {
    const result = await chat('support', { company: 'Acme', question: 'Where is my order?' });
    expect(result.status).toBe(200);
    expect(result.upstream).toEqual([
      { role: 'system', content: 'You answer for Acme.' },
      { role: 'user', content: 'Where is my order?' },
    ]);
    const missing = await chat('support', { company: 'Acme' });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('question');
  });

  it('follows an alias move in MLflow without a restart; a pinned version stays put', async () => {
    expect(await register('summarize', 'TL;DR ({{words}} words): {{text}}')).toBe(2);
    await alias('summarize', 'production', 2);
    const moved = await eventually(
      () => chat('summarizer', { words: '3', text: 'x' }),
      (r) => r.version === '2',
    );
    expect(moved.upstream).toEqual([{ role: 'user', content: 'TL;DR (3 words): x' }]);
    const pinned = await chat('pinned', { words: '3', text: 'x' });
    expect(pinned).toMatchObject({ status: 200, version: '1' });
  });

  it('answers 503 with a clear message for a prompt MLflow does not have', async () => {
    const result = await chat('missing', { text: 'x' });
    expect(result.status).toBe(503);
    expect(JSON.stringify(result.body)).toContain("Prompt template 'prompts:/nope' (label 'production')");
  });
});
