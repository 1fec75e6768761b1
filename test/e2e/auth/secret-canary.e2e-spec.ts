import { randomBytes } from 'node:crypto';
import { bearer, call, chatBody, JsonResponse } from 'test/e2e/support/admin-client';
import { startGateway } from 'test/e2e/support/test-gateway';

jest.setTimeout(60_000);

/** bad-inputs D6: canary secrets, grepped across every response and every log line at debug level. */
describe('canary secrets never reach a response or a log line', () => {
  it('keeps provider secrets, API keys and presented credentials out of logs and bodies', async () => {
    const canarySecret = `sk-canary-${randomBytes(12).toString('hex')}`;
    const canaryKey = `gh_canary${randomBytes(16).toString('hex')}`;
    const output: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    const bodies: string[] = [];
    try {
      const gateway = await startGateway('endpoints: []\n', {
        env: { LOG_LEVEL: 'debug', GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') },
      });
      try {
        const record = async (p: Promise<JsonResponse>) => {
          const response = await p;
          bodies.push(JSON.stringify(response.body), JSON.stringify([...response.headers]));
          return response;
        };
        expect(
          (
            await record(
              call(gateway.url, 'PUT', '/admin/v1/secrets/canary', gateway.authHeaders(), {
                value: canarySecret,
              }),
            )
          ).status,
        ).toBe(200);
        await record(call(gateway.url, 'GET', '/admin/v1/secrets', gateway.authHeaders()));
        await record(call(gateway.url, 'GET', '/admin/v1/audit', gateway.authHeaders()));
        await record(call(gateway.url, 'POST', '/v1/chat/completions', bearer(canaryKey), chatBody('x')));
        await record(call(gateway.url, 'GET', '/admin/v1/me', { 'x-api-key': canaryKey }));
        await record(call(gateway.url, 'GET', `/v1/models?api_key=${canaryKey}`, {}));
        await record(
          call(gateway.url, 'GET', '/api/2.0/endpoints/', {
            authorization: `Basic ${Buffer.from(`u:${canaryKey}`).toString('base64')}`,
          }),
        );
        const minted = await record(
          call(gateway.url, 'POST', '/admin/v1/keys', gateway.authHeaders(), { name: 'm' }),
        );
        const mintedKey = minted.body.key as string;
        bodies.splice(bodies.indexOf(JSON.stringify(minted.body)), 1); // the one response allowed to show it
        await record(call(gateway.url, 'GET', '/admin/v1/keys', gateway.authHeaders()));
        await record(
          call(gateway.url, 'GET', '/admin/v1/audit?action=api_key.create', gateway.authHeaders()),
        );
        for (const text of [...bodies, output.join('')]) {
          expect(text).not.toContain(canarySecret);
          expect(text).not.toContain(canaryKey);
          expect(text).not.toContain(mintedKey);
          expect(text).not.toContain(gateway.apiKey);
        }
      } finally {
        await gateway.close();
      }
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(output.join('').length).toBeGreaterThan(0); // debug logging did run
  });
});
