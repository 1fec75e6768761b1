import { createServer, Server } from 'node:net';
import { MOCK_API_KEY, OpenAIMock, startOpenAIMock } from 'test/mocks/openai-mock.server';
import { openaiEndpoint, startGateway, TestGateway, waitFor } from 'test/e2e/support/test-gateway';

/** The gateway's admin credentials, set once it has booted. */
let auth: Record<string, string> = {};

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'one two three four' }],
  ...extra,
});

async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('bad inputs and upstream faults', () => {
  let mock: OpenAIMock;
  let gateway: TestGateway;
  let v1: string;

  beforeAll(async () => {
    process.env.MOCK_OPENAI_KEY = MOCK_API_KEY;
    mock = await startOpenAIMock();
    const deadPort = await closedPort();
    const fast = '    gatehouse:\n      timeout_ms: 500\n      stream_idle_timeout_ms: 500\n';
    gateway = await startGateway(
      `
endpoints:
${openaiEndpoint('chat', 'gpt-4o-mini', mock.url)}
${openaiEndpoint('slow', 'mock-slow', mock.url, 'llm/v1/chat', fast)}
${openaiEndpoint('stalls', 'mock-slow-stream', mock.url, 'llm/v1/chat', fast)}
${openaiEndpoint('hangs', 'mock-hang', mock.url)}
${openaiEndpoint('slow-answer', 'mock-slow', mock.url)}
${openaiEndpoint('cut', 'mock-cut', mock.url)}
${openaiEndpoint('stream-err', 'mock-stream-err', mock.url)}
${openaiEndpoint('no-done', 'mock-no-done', mock.url)}
${openaiEndpoint('html', 'mock-html', mock.url)}
${openaiEndpoint('unavailable', 'mock-503', mock.url)}
${openaiEndpoint('bad-key', 'mock-401', mock.url)}
${openaiEndpoint('dead', 'gpt-4o', `http://127.0.0.1:${deadPort}`)}
`,
      { env: { BODY_LIMIT_BYTES: '65536', UPSTREAM_MAX_RESPONSE_BYTES: '4096' } },
    );
    v1 = `${gateway.url}/v1/chat/completions`;
    auth = gateway.authHeaders();
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  async function expectOpenAIError(
    response: Response,
    status: number,
    code?: string,
  ): Promise<Record<string, unknown>> {
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    if (code) expect(body.error.code).toBe(code);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+|node_modules|sk-mock/);
    return body.error;
  }

  describe('request bodies', () => {
    it('413 over the body limit', async () => {
      const big = { ...chat('chat'), messages: [{ role: 'user', content: 'x'.repeat(70_000) }] };
      await expectOpenAIError(await post(v1, big), 413, 'payload_too_large');
    });

    it('415 for non-JSON content types and compressed bodies', async () => {
      await expectOpenAIError(
        await post(v1, 'hello', { 'content-type': 'text/plain' }),
        415,
        'unsupported_media_type',
      );
      await expectOpenAIError(
        await post(v1, 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }),
        415,
        'unsupported_media_type',
      );
      await expectOpenAIError(
        await post(v1, chat('chat'), { 'content-encoding': 'gzip' }),
        415,
        'unsupported_media_type',
      );
    });

    it('400 for invalid JSON, scalars, deep nesting and prototype keys', async () => {
      await expectOpenAIError(await post(v1, '{"model":'), 400, 'invalid_json');
      await expectOpenAIError(await post(v1, '"just a string"'), 400, 'invalid_json');
      const deep = `{"model":"chat","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const error = await expectOpenAIError(await post(v1, deep), 400, 'invalid_json');
      expect(error.message).toContain('deeper than 64');
      await expectOpenAIError(
        await post(v1, '{"__proto__":{"admin":true},"model":"chat"}'),
        400,
        'invalid_json',
      );
    });

    it.each([
      ['temperature', -0.1],
      ['temperature', 2.5],
      ['top_p', 1.5],
      ['max_tokens', 0],
      ['max_tokens', 1.5],
      ['max_tokens', '100'],
      ['n', 0],
      ['n', 1000],
      ['presence_penalty', 3],
    ])('400 for %s = %p', async (param, value) => {
      const error = await expectOpenAIError(
        await post(v1, chat('chat', { [param]: value })),
        400,
        'invalid_request',
      );
      expect(error.param).toBe(param);
    });

    it('400 for max_tokens 1e400 (Infinity) and messages that are not a list', async () => {
      const error = await expectOpenAIError(
        await post(v1, '{"model":"chat","max_tokens":1e400,"messages":[{"role":"user","content":"x"}]}'),
        400,
      );
      expect(error.param).toBe('max_tokens');
      await expectOpenAIError(await post(v1, { model: 'chat', messages: 'hi' }), 400);
      await expectOpenAIError(await post(v1, { model: 'chat', messages: [] }), 400);
    });

    it('refuses api_base / api_key in the body and never contacts another host', async () => {
      const before = mock.requests.length;
      for (const key of ['api_base', 'base_url', 'api_key', 'extra_headers']) {
        const error = await expectOpenAIError(
          await post(v1, chat('chat', { [key]: 'http://169.254.169.254' })),
          400,
        );
        expect(error.param).toBe(key);
      }
      expect(mock.requests.length).toBe(before);
    });

    it('refuses credentials in the query string', async () => {
      await expectOpenAIError(await post(`${v1}?api_key=sk-123`, chat('chat')), 400, 'invalid_request');
    });

    it('keeps a sane x-request-id and answers with one otherwise', async () => {
      const kept = await post(v1, chat('chat'), { 'x-request-id': 'trace-abc.123' });
      expect(kept.headers.get('x-request-id')).toBe('trace-abc.123');
      const replaced = await post(v1, chat('chat'), { 'x-request-id': 'bad id\twith spaces' });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('upstream faults', () => {
    it('504 when the upstream sends no headers in time', async () => {
      const started = Date.now();
      await expectOpenAIError(await post(v1, chat('slow')), 504, 'upstream_timeout');
      expect(Date.now() - started).toBeLessThan(2500);
    });

    it('502 when the upstream refuses the connection', async () => {
      await expectOpenAIError(await post(v1, chat('dead')), 502, 'upstream_error');
    });

    it('502 when a 200 carries HTML instead of JSON, without echoing it', async () => {
      const error = await expectOpenAIError(await post(v1, chat('html')), 502, 'upstream_error');
      expect(String(error.message)).not.toContain('<html>');
    });

    it('502 when an answer exceeds UPSTREAM_MAX_RESPONSE_BYTES, and a smaller one still passes', async () => {
      // The mock echoes the last user message: ~6 KB of answer against a 4 KB cap.
      const big = { model: 'chat', messages: [{ role: 'user', content: 'word '.repeat(1200) }] };
      const error = await expectOpenAIError(await post(v1, big), 502, 'upstream_error');
      expect(String(error.message)).toBe('The upstream response was too large.');
      const small = await post(v1, { ...big, messages: [{ role: 'user', content: 'word '.repeat(100) }] });
      expect(small.status).toBe(200);
    });

    it('a client that goes away before a JSON answer aborts the upstream request within a second', async () => {
      const before = mock.aborted();
      const client = new AbortController();
      const pending = post(v1, chat('slow-answer'));
      const aborting = fetch(v1, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(chat('slow-answer')),
        signal: client.signal,
      }).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const cancelledAt = Date.now();
      client.abort();
      expect((await aborting) as { name?: string }).toMatchObject({ name: 'AbortError' });
      await waitFor(() => mock.aborted() > before, 1000);
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
      // The other caller of the same slow upstream still gets its answer.
      expect((await pending).status).toBe(200);
    });

    it("503 with Retry-After for an overloaded upstream, 502 for the gateway's own bad credentials", async () => {
      const unavailable = await post(v1, chat('unavailable'));
      expect(unavailable.headers.get('retry-after')).toBe('3');
      await expectOpenAIError(unavailable, 503, 'upstream_unavailable');
      const error = await expectOpenAIError(await post(v1, chat('bad-key')), 502, 'upstream_error');
      expect(String(error.message)).not.toMatch(/sk-|API key provided/);
    });
  });

  describe('streams', () => {
    async function sse(model: string): Promise<{ status: number; events: string[] }> {
      const response = await post(v1, chat(model, { stream: true }));
      const text = await response.text();
      return { status: response.status, events: text.split('\n\n').filter(Boolean) };
    }

    it('a cut stream ends with an error event, never [DONE]', async () => {
      const { status, events } = await sse('cut');
      expect(status).toBe(200);
      expect(events.length).toBeGreaterThanOrEqual(2);
      const last = JSON.parse(events[events.length - 1].replace(/^data: /, '')) as {
        error: { message: string };
      };
      expect(last.error.message).toMatch(/interrupted|ended before completion/);
      expect(events).not.toContain('data: [DONE]');
    });

    it('an upstream error event is forwarded as a terminal error event', async () => {
      const { events } = await sse('stream-err');
      expect(events[events.length - 1]).toContain('"error"');
      expect(events[events.length - 1]).toContain('The server had an error');
      expect(events).not.toContain('data: [DONE]');
    });

    it('a stream that stalls past the idle timeout ends with an error event', async () => {
      const { events } = await sse('stalls');
      expect(events[events.length - 1]).toContain('timed out');
      expect(events).not.toContain('data: [DONE]');
    });

    it('a stream that finishes without [DONE] still ends cleanly with [DONE]', async () => {
      const { events } = await sse('no-done');
      expect(events[events.length - 1]).toBe('data: [DONE]');
      expect(events.some((e) => e.includes('"finish_reason":"stop"'))).toBe(true);
    });

    it('a client that disconnects aborts the upstream request within a second', async () => {
      const before = mock.aborted();
      const response = await post(v1, chat('hangs', { stream: true }));
      const reader = response.body!.getReader();
      await reader.read();
      const cancelledAt = Date.now();
      await reader.cancel();
      await waitFor(() => mock.aborted() > before, 1000);
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
    });
  });
});
