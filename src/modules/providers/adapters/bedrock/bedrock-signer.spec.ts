import type { AwsCredentialIdentity } from '@smithy/types';
import { parseBedrockConfig } from 'src/modules/providers/adapters/bedrock/bedrock-config';
import { BedrockSigner } from 'src/modules/providers/adapters/bedrock/bedrock-signer';
import { ProviderAuthError } from 'src/modules/providers/provider-adapter';

const config = parseBedrockConfig(
  { aws_config: { aws_region: 'eu-central-1', aws_role_arn: 'arn:aws:iam::123456789012:role/r' } },
  'bedrock',
);

function source(expiresInMs: number[]) {
  let calls = 0;
  const fetch = () => {
    const ms = expiresInMs[Math.min(calls, expiresInMs.length - 1)];
    calls += 1;
    return new Promise<AwsCredentialIdentity>((resolve) =>
      setTimeout(
        () =>
          resolve({
            accessKeyId: `ASIA${calls}`,
            secretAccessKey: 's',
            sessionToken: `t${calls}`,
            expiration: new Date(now + ms),
          }),
        5,
      ),
    );
  };
  return { fetch, calls: () => calls };
}

let now = 1_700_000_000_000;

describe('BedrockSigner', () => {
  it('signs for bedrock in the configured region with the session token, over host and x-amz-date', async () => {
    const creds = source([3_600_000]);
    const signer = new BedrockSigner(config, creds.fetch, () => now);
    const signed = await signer.sign({
      url: 'https://bedrock-runtime.eu-central-1.amazonaws.com/model/a.b%3A0/converse',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(signed.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIA1\/\d{8}\/eu-central-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(signed.headers['x-amz-security-token']).toBe('t1');
    expect(signed.headers.host).toBe('bedrock-runtime.eu-central-1.amazonaws.com');
  });

  it('fetches credentials once for concurrent requests, and again only when they near expiry', async () => {
    const creds = source([20 * 60_000, 60 * 60_000]);
    const signer = new BedrockSigner(config, creds.fetch, () => now);
    const first = await Promise.all([signer.credentials(), signer.credentials(), signer.credentials()]);
    expect(first.map((c) => c.accessKeyId)).toEqual(['ASIA1', 'ASIA1', 'ASIA1']);
    now += 10 * 60_000; // 10 of 20 minutes: still valid
    expect((await signer.credentials()).accessKeyId).toBe('ASIA1');
    now += 6 * 60_000; // 4 minutes left: inside the 5-minute margin
    expect((await signer.credentials()).accessKeyId).toBe('ASIA2');
    expect(creds.calls()).toBe(2);
  });

  it('wraps a failed exchange in ProviderAuthError and tries again on the next request', async () => {
    let calls = 0;
    const signer = new BedrockSigner(
      config,
      () => {
        calls += 1;
        return calls === 1
          ? Promise.reject(Object.assign(new Error('secret-ish detail'), { name: 'AccessDenied' }))
          : Promise.resolve({ accessKeyId: 'AKIA', secretAccessKey: 's' });
      },
      () => now,
    );
    const error = await signer.credentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderAuthError);
    expect((error as Error).message).toBe('AWS credentials unavailable: AccessDenied');
    expect((await signer.credentials()).accessKeyId).toBe('AKIA');
  });
});
