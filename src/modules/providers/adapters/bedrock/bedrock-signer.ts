import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { AwsAccessKeys, BedrockConfig } from 'src/modules/providers/adapters/bedrock/bedrock-config';
import { ProviderAuthError, UpstreamRequest } from 'src/modules/providers/provider-adapter';

/** The SigV4 signing name of bedrock-runtime (its host says `bedrock-runtime`, its scope says `bedrock`). */
export const BEDROCK_SIGNING_SERVICE = 'bedrock';
/** The session name MLflow gives its assumed-role sessions. */
export const ROLE_SESSION_NAME = 'ai-gateway-bedrock';
/** Temporary credentials are replaced this long before they expire, so no request carries stale ones. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
const STS_TIMEOUT_MS = 10_000;

class Sha256 extends Hash {
  constructor(secret?: Parameters<typeof Hash.prototype.update>[0]) {
    super('sha256', secret);
  }
}

/**
 * Signs Bedrock requests with SigV4 (`@smithy/signature-v4`). Credentials come from the config's
 * static keys, from STS AssumeRole (cached until shortly before they expire, one exchange in flight
 * at a time), or from the AWS default credential chain. Built once per distinct `aws_config`, so a
 * warm request only hashes and signs.
 */
export class BedrockSigner {
  private readonly signer: SignatureV4;
  private cached: AwsCredentialIdentity | undefined;
  private pending: Promise<AwsCredentialIdentity> | undefined;

  constructor(
    config: BedrockConfig,
    private readonly fetchCredentials: () => Promise<AwsCredentialIdentity> = credentialSource(config),
    private readonly now: () => number = Date.now,
  ) {
    this.signer = new SignatureV4({
      service: BEDROCK_SIGNING_SERVICE,
      region: config.region,
      credentials: () => this.credentials(),
      sha256: Sha256,
      uriEscapePath: true,
    });
  }

  async sign(request: UpstreamRequest): Promise<UpstreamRequest> {
    const url = new URL(request.url);
    const signed = await this.signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: {},
      headers: { ...request.headers, host: url.host },
      body: request.body,
    });
    return { ...request, headers: signed.headers };
  }

  /** Current credentials; a refresh shared by every request that needs it meanwhile. */
  credentials(): Promise<AwsCredentialIdentity> {
    const cached = this.cached;
    if (cached && !this.expiring(cached)) return Promise.resolve(cached);
    if (!this.pending) {
      this.pending = this.fetchCredentials().then(
        (fresh) => {
          this.cached = fresh;
          this.pending = undefined;
          return fresh;
        },
        (error: unknown) => {
          this.pending = undefined;
          throw new ProviderAuthError(
            `AWS credentials unavailable: ${error instanceof Error ? error.name : 'unknown error'}`,
          );
        },
      );
    }
    return this.pending;
  }

  private expiring(credentials: AwsCredentialIdentity): boolean {
    return (
      credentials.expiration !== undefined &&
      credentials.expiration.getTime() - REFRESH_MARGIN_MS <= this.now()
    );
  }
}

function credentialSource(config: BedrockConfig): () => Promise<AwsCredentialIdentity> {
  const { auth } = config;
  switch (auth.kind) {
    case 'keys':
      return () => Promise.resolve(fromKeys(auth.keys));
    case 'role': {
      const source: AwsCredentialIdentityProvider = auth.source
        ? () => Promise.resolve(fromKeys(auth.source!))
        : defaultProvider();
      let client: STSClient | undefined;
      return async () => {
        client ??= new STSClient({
          region: config.region,
          endpoint: config.stsEndpoint,
          credentials: source,
          maxAttempts: 2,
          requestHandler: { connectionTimeout: STS_TIMEOUT_MS, requestTimeout: STS_TIMEOUT_MS },
        });
        const out = await client.send(
          new AssumeRoleCommand({
            RoleArn: auth.roleArn,
            RoleSessionName: ROLE_SESSION_NAME,
            DurationSeconds: auth.sessionLengthSeconds,
          }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
        return {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
          ...(c.Expiration ? { expiration: c.Expiration } : {}),
        };
      };
    }
    case 'default': {
      const chain = defaultProvider();
      return () => chain();
    }
    default:
      return () => Promise.reject(new Error('bearer-token endpoints are not signed'));
  }
}

function fromKeys(keys: AwsAccessKeys): AwsCredentialIdentity {
  return {
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    ...(keys.sessionToken !== undefined ? { sessionToken: keys.sessionToken } : {}),
  };
}
