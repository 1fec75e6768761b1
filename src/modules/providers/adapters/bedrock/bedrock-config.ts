import { JsonObject, ProviderConfigError } from 'src/modules/providers/provider-adapter';

/** MLflow's `AWSRole.session_length_seconds` default (15 minutes); STS accepts 900–43200. */
export const DEFAULT_SESSION_LENGTH_SECONDS = 15 * 60;
const MAX_SESSION_LENGTH_SECONDS = 12 * 60 * 60;
/** `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`: also keeps the default host name well-formed. */
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]+$/;

export interface AwsAccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * How requests are authorised, in the order MLflow's `aws_config` union is tried: a Bedrock API key
 * (`aws_bearer_token`), a role to assume (`aws_role_arn`), static keys, else the default chain.
 */
export type BedrockAuth =
  | { kind: 'bearer'; token: string }
  | { kind: 'keys'; keys: AwsAccessKeys }
  /** `source`: the keys that call STS; without them the default credential chain does. */
  | { kind: 'role'; roleArn: string; sessionLengthSeconds: number; source: AwsAccessKeys | undefined }
  | { kind: 'default' };

export interface BedrockConfig {
  region: string;
  /** bedrock-runtime origin (plus optional path prefix) without a trailing slash. */
  endpoint: string;
  /** STS endpoint used for `aws_role_arn`. */
  stsEndpoint: string;
  auth: BedrockAuth;
}

/**
 * MLflow's `AmazonBedrockConfig`: `aws_config` with `aws_region`, and one of `aws_bearer_token` |
 * `aws_role_arn` (+ `session_length_seconds`) | `aws_access_key_id` + `aws_secret_access_key`
 * (+ `aws_session_token`) | nothing (default credential chain). Ours on top: `aws_endpoint_url` and
 * `aws_sts_endpoint_url` (private endpoints, tests). Unknown keys are ignored, as MLflow does.
 */
export function parseBedrockConfig(raw: JsonObject, provider: string): BedrockConfig {
  const awsConfig = raw.aws_config;
  if (typeof awsConfig !== 'object' || awsConfig === null || Array.isArray(awsConfig)) {
    throw new ProviderConfigError(`aws_config is required for provider '${provider}'`);
  }
  const aws = awsConfig as JsonObject;
  const field = (key: string) => optionalString(aws, key, provider);

  // boto3 would fall back to the environment's region; Gatehouse reads configuration from one place.
  const region = field('aws_region');
  if (region === undefined) {
    throw new ProviderConfigError(`aws_config.aws_region is required for provider '${provider}'`);
  }
  if (!REGION.test(region)) {
    throw new ProviderConfigError(
      `aws_config.aws_region must be an AWS region name such as 'us-east-1' for provider '${provider}'`,
    );
  }
  const endpoint = baseUrl(
    field('aws_endpoint_url') ?? `https://bedrock-runtime.${region}.amazonaws.com`,
    'aws_endpoint_url',
    provider,
  );
  const stsEndpoint = baseUrl(
    field('aws_sts_endpoint_url') ?? `https://sts.${region}.amazonaws.com`,
    'aws_sts_endpoint_url',
    provider,
  );
  return { region, endpoint, stsEndpoint, auth: parseAuth(aws, provider) };
}

function parseAuth(aws: JsonObject, provider: string): BedrockAuth {
  const field = (key: string) => optionalString(aws, key, provider);
  const token = field('aws_bearer_token');
  if (token !== undefined) return { kind: 'bearer', token };

  const accessKeyId = field('aws_access_key_id');
  const secretAccessKey = field('aws_secret_access_key');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ProviderConfigError(
      `aws_config.aws_access_key_id and aws_config.aws_secret_access_key must be given together for provider '${provider}'`,
    );
  }
  const sessionToken = field('aws_session_token');
  const keys: AwsAccessKeys | undefined =
    accessKeyId !== undefined && secretAccessKey !== undefined
      ? { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) }
      : undefined;

  const roleArn = field('aws_role_arn');
  if (roleArn !== undefined) {
    if (!roleArn.startsWith('arn:')) {
      throw new ProviderConfigError(`aws_config.aws_role_arn must be a role ARN for provider '${provider}'`);
    }
    return {
      kind: 'role',
      roleArn,
      sessionLengthSeconds: sessionLength(aws.session_length_seconds, provider),
      source: keys,
    };
  }
  return keys !== undefined ? { kind: 'keys', keys } : { kind: 'default' };
}

function sessionLength(value: unknown, provider: string): number {
  if (value === undefined || value === null) return DEFAULT_SESSION_LENGTH_SECONDS;
  const n = typeof value === 'string' && /^[0-9]+$/.test(value.trim()) ? Number(value) : value;
  if (
    typeof n !== 'number' ||
    !Number.isInteger(n) ||
    n < DEFAULT_SESSION_LENGTH_SECONDS ||
    n > MAX_SESSION_LENGTH_SECONDS
  ) {
    throw new ProviderConfigError(
      `aws_config.session_length_seconds must be an integer from 900 to 43200 for provider '${provider}'`,
    );
  }
  return n;
}

function optionalString(raw: JsonObject, key: string, provider: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ProviderConfigError(`aws_config.${key} must be a non-empty string for provider '${provider}'`);
  }
  return value.trim();
}

function baseUrl(value: string, key: string, provider: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderConfigError(
      `aws_config.${key} must be an absolute http(s) URL for provider '${provider}'`,
    );
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new ProviderConfigError(
      `aws_config.${key} must be an http(s) URL without query or fragment for provider '${provider}'`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ProviderConfigError(`aws_config.${key} must not carry credentials for provider '${provider}'`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
