import { parseBedrockConfig } from 'src/modules/providers/adapters/bedrock/bedrock-config';
import { ProviderConfigError } from 'src/modules/providers/provider-adapter';

const parse = (aws: unknown) => parseBedrockConfig({ aws_config: aws }, 'bedrock');

describe('parseBedrockConfig (MLflow AmazonBedrockConfig)', () => {
  it('picks the auth the way MLflow tries its aws_config union: bearer, role, keys, default chain', () => {
    expect(
      parse({ aws_region: 'us-east-1', aws_bearer_token: 'tok', aws_role_arn: 'arn:aws:iam::1:role/r' }).auth,
    ).toEqual({
      kind: 'bearer',
      token: 'tok',
    });
    expect(
      parse({
        aws_region: 'eu-west-1',
        aws_role_arn: 'arn:aws:iam::123456789012:role/r',
        aws_access_key_id: 'AKIA1',
        aws_secret_access_key: 's',
      }).auth,
    ).toEqual({
      kind: 'role',
      roleArn: 'arn:aws:iam::123456789012:role/r',
      sessionLengthSeconds: 900,
      source: { accessKeyId: 'AKIA1', secretAccessKey: 's' },
    });
    expect(
      parse({ aws_region: 'eu-west-1', aws_role_arn: 'arn:aws:iam::1:role/r', session_length_seconds: 3600 })
        .auth,
    ).toMatchObject({ kind: 'role', sessionLengthSeconds: 3600, source: undefined });
    expect(
      parse({
        aws_region: 'us-west-2',
        aws_access_key_id: 'AKIA1',
        aws_secret_access_key: 's',
        aws_session_token: 't',
      }).auth,
    ).toEqual({ kind: 'keys', keys: { accessKeyId: 'AKIA1', secretAccessKey: 's', sessionToken: 't' } });
    expect(parse({ aws_region: 'us-west-2' }).auth).toEqual({ kind: 'default' });
  });

  it('defaults the endpoints to the region, and takes overrides without a trailing slash', () => {
    expect(parse({ aws_region: 'ap-southeast-2' })).toMatchObject({
      region: 'ap-southeast-2',
      endpoint: 'https://bedrock-runtime.ap-southeast-2.amazonaws.com',
      stsEndpoint: 'https://sts.ap-southeast-2.amazonaws.com',
    });
    expect(
      parse({
        aws_region: 'us-east-1',
        aws_endpoint_url: 'http://127.0.0.1:9000/',
        aws_sts_endpoint_url: 'http://127.0.0.1:9001',
      }),
    ).toMatchObject({ endpoint: 'http://127.0.0.1:9000', stsEndpoint: 'http://127.0.0.1:9001' });
  });

  it.each([
    [undefined, 'aws_config is required'],
    [{}, 'aws_config.aws_region is required'],
    [{ aws_region: 'evil.com/x' }, "must be an AWS region name such as 'us-east-1'"],
    [{ aws_region: 'us-east-1', aws_access_key_id: 'AKIA1' }, 'must be given together'],
    [{ aws_region: 'us-east-1', aws_role_arn: 'my-role' }, 'must be a role ARN'],
    [
      { aws_region: 'us-east-1', aws_role_arn: 'arn:aws:iam::1:role/r', session_length_seconds: 60 },
      'from 900 to 43200',
    ],
    [{ aws_region: 'us-east-1', aws_endpoint_url: 'ftp://x' }, 'without query or fragment'],
    [{ aws_region: 'us-east-1', aws_endpoint_url: 'https://u:p@host' }, 'must not carry credentials'],
    [
      { aws_region: 'us-east-1', aws_access_key_id: 5, aws_secret_access_key: 's' },
      'must be a non-empty string',
    ],
  ])('refuses %j with a message for the operator', (aws, message) => {
    let caught: unknown;
    try {
      parse(aws);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProviderConfigError);
    expect((caught as Error).message).toContain(message);
  });
});
