import { randomBytes } from 'node:crypto';
import { call, chatBody } from 'test/e2e/support/admin-client';
import { startGateway, TestGateway } from 'test/e2e/support/test-gateway';
import { Listener, openaiEntry, startListener } from 'test/e2e/security/support';

jest.setTimeout(90_000);

// Keys with no recognisable shape (no `sk-`, no `Bearer`): only knowing the value can catch them.
const FILE_KEY = `plain-file-credential-${randomBytes(6).toString('hex')}`;
const STORED_KEY = `plain-stored-credential-${randomBytes(6).toString('hex')}`;

/**
 * An OpenAI-wire upstream that quotes the credential it received back in its errors (as some
 * providers and proxies do): `echo-400` → 400, `echo-500` → 500 with a request id.
 */
function echoingUpstream(): Promise<Listener> {
  return startListener((res, _path, body) => {
    const last = echo.hits[echo.hits.length - 1];
    const key = String(last.headers.authorization ?? '').replace(/^Bearer /, '');
    const status = body.includes('echo-500') ? 500 : 400;
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_4f2a9b' }).end(
      JSON.stringify({
        error: { message: `The key ${key} cannot use this model`, type: 'invalid_request_error' },
      }),
    );
  }).then((listener) => {
    echo = listener;
    return listener;
  });
}
let echo: Listener;

describe('upstream text never carries our secrets', () => {
  let gw: TestGateway;
  const saved = process.env.ECHO_FILE_KEY;
  let logs = '';
  let restore: () => void;

  beforeAll(async () => {
    await echoingUpstream();
    process.env.ECHO_FILE_KEY = FILE_KEY;
    gw = await startGateway(
      `endpoints:
  - name: file-echo
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: echo-400
      config:
        openai_api_key: $ECHO_FILE_KEY
        openai_api_base: ${echo.url}/v1
  - name: file-echo-500
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: echo-500
      config:
        openai_api_key: $ECHO_FILE_KEY
        openai_api_base: ${echo.url}/v1
`,
      { env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'info' } },
    );
    const admin = gw.authHeaders();
    expect((await call(gw.url, 'PUT', '/admin/v1/secrets/echo', admin, { value: STORED_KEY })).status).toBe(
      200,
    );
    expect(
      (
        await call(
          gw.url,
          'POST',
          '/admin/v1/endpoints',
          admin,
          openaiEntry('api-echo', '$secret:echo', `${echo.url}/v1`, 'echo-400'),
        )
      ).status,
    ).toBe(201);
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      logs += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
    restore = () => {
      process.stdout.write = write;
    };
  });

  afterAll(async () => {
    restore?.();
    await gw?.close();
    await echo?.close();
    process.env.ECHO_FILE_KEY = saved;
  });

  it('replaces a provider key the upstream echoes in a 4xx message (file and stored secrets)', async () => {
    for (const [model, key] of [
      ['file-echo', FILE_KEY],
      ['api-echo', STORED_KEY],
    ]) {
      const chat = await call(gw.url, 'POST', '/v1/chat/completions', gw.authHeaders(), chatBody(model));
      // The upstream really did receive and echo the key...
      expect(echo.hits[echo.hits.length - 1].headers.authorization).toBe(`Bearer ${key}`);
      // ...and the caller gets the provider's 400 without it.
      expect(chat.status).toBe(400);
      expect(chat.body.error.message).toBe('The key [REDACTED] cannot use this model');
      expect(JSON.stringify(chat.body)).not.toContain(key);
    }
  });

  it("answers a provider 5xx with a generic message, the provider's status and request id; the text goes to the log, redacted", async () => {
    const chat = await call(
      gw.url,
      'POST',
      '/v1/chat/completions',
      gw.authHeaders(),
      chatBody('file-echo-500'),
    );
    expect(chat.status).toBe(502);
    expect(chat.body.error.message).toBe(
      'The upstream provider failed (HTTP 500, provider request id req_4f2a9b).',
    );
    expect(JSON.stringify(chat.body)).not.toContain('cannot use this model');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(logs).toContain(
      'file-echo-500: upstream answered HTTP 500: The key [REDACTED] cannot use this model',
    );
    expect(logs).not.toContain(FILE_KEY);
    expect(logs).not.toContain(STORED_KEY);
  });
});
