import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { MessageHeaders } from '@smithy/types';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

/**
 * A wire-faithful local stand-in for Amazon Bedrock Runtime (Converse, ConverseStream, InvokeModel)
 * and for STS AssumeRole, for e2e tests.
 *
 * Every request is authenticated as AWS does it: a SigV4 `Authorization` header is verified by
 * recomputing the canonical request, string to sign and signature from the bytes received (its own
 * implementation, independent of the gateway's signer), against the secret of the access key it names;
 * temporary keys also need their `x-amz-security-token`. A Bedrock API key may be sent as a bearer
 * token instead. Failures answer as AWS does: 403 with `x-amzn-ErrorType` and `{"message"}`.
 *
 * Deterministic behaviour:
 * - Converse reply text is `"echo: " + <text of the last user turn>`; after a tool result it is
 *   `"tool said: " + <the result's text>`;
 * - usage: `inputTokens` = whitespace-separated words of all texts (system included), `outputTokens` =
 *   words of the reply (a tool call counts the words of its JSON input);
 * - with `toolConfig`, a last user text containing "weather" (or toolChoice any/tool) gets a toolUse
 *   block for the first (or named) tool with input `{"location":"Paris"}` and stopReason `tool_use`;
 * - ConverseStream sends the same answer as binary event-stream frames (messageStart,
 *   contentBlockStart/Delta/Stop, messageStop, metadata), a frame split across two writes;
 * - InvokeModel embeds with `mockEmbedding(text, dimensions)` for Titan (`inputText`) and Cohere
 *   (`texts` + `input_type`) bodies.
 *
 * Faults by model id: `mock-throttle` (429 ThrottlingException), `mock-stream-throttle` (stream: two
 * deltas, then a throttlingException frame), `mock-denied` (403 AccessDeniedException).
 */

export const BEDROCK_MOCK_REGION = 'us-east-1';
export const BEDROCK_MOCK_ACCESS_KEY_ID = 'AKIAMOCKGATEHOUSE01';
export const BEDROCK_MOCK_SECRET_ACCESS_KEY = 'mock/Secret+Key/for/the/bedrock/mock/000';
export const BEDROCK_MOCK_API_KEY = 'bedrock-api-key-mock';
export const MOCK_TOOL_INPUT = { location: 'Paris' };
export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export interface BedrockMockRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body was not JSON. */
  body: unknown;
  /** How the request authenticated: a key id, `bearer`, or undefined when it was refused. */
  principal: string | undefined;
}

export interface BedrockMock {
  url: string;
  region: string;
  requests: BedrockMockRequest[];
  /** AssumeRole calls answered, with the role and duration asked for. */
  assumedRoles: { roleArn: string; sessionName: string; durationSeconds: number; accessKeyId: string }[];
  close(): Promise<void>;
}

export interface BedrockMockOptions {
  /** Long-term keys the mock knows (id → secret); the default pair is always known. */
  keys?: Record<string, string>;
}

interface Credential {
  secret: string;
  sessionToken?: string;
  expires?: number;
}

type Json = Record<string, unknown>;

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const codec = new EventStreamCodec(toUtf8, fromUtf8);

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startBedrockMock(options: BedrockMockOptions = {}): Promise<BedrockMock> {
  const credentials = new Map<string, Credential>([
    [BEDROCK_MOCK_ACCESS_KEY_ID, { secret: BEDROCK_MOCK_SECRET_ACCESS_KEY }],
    ...Object.entries(options.keys ?? {}).map(([id, secret]): [string, Credential] => [id, { secret }]),
  ]);
  const requests: BedrockMockRequest[] = [];
  const assumedRoles: BedrockMock['assumedRoles'] = [];

  const server = createServer((req, res) => {
    void readBody(req).then(
      (raw) => handle(req, res, raw),
      () => sendAwsError(res, new AwsError(413, 'ValidationException', 'Request body too large')),
    );
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const path = (req.url ?? '/').split('?')[0];
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // form-encoded (STS) or malformed; kept as text
    }
    const record: BedrockMockRequest = { path, headers: req.headers, body, principal: undefined };
    requests.push(record);
    try {
      const isSts = path === '/' && req.method === 'POST';
      const service = isSts ? 'sts' : 'bedrock';
      record.principal = authenticate(req, raw, service, credentials);
      if (isSts) return assumeRole(res, raw, record.principal);
      const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(path);
      if (req.method !== 'POST' || !match) {
        throw new AwsError(404, 'UnknownOperationException', 'Unknown operation');
      }
      const modelId = decodeURIComponent(match[1]);
      if (!isJson(body)) throw new AwsError(400, 'SerializationException', 'Malformed JSON request body');
      if (modelId === 'mock-throttle') {
        throw new AwsError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
      }
      if (modelId === 'mock-denied') {
        throw new AwsError(
          403,
          'AccessDeniedException',
          "You don't have access to the model with the specified model ID.",
        );
      }
      if (match[2] === 'invoke') return invoke(res, modelId, body);
      const reply = converse(body);
      if (match[2] === 'converse') return sendJson(res, 200, converseResponse(reply));
      return converseStream(res, reply, modelId === 'mock-stream-throttle');
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      if (path === '/') return sendStsError(res, error.status, error.type, error.message);
      return sendAwsError(res, error);
    }
  }

  function assumeRole(res: ServerResponse, raw: string, caller: string | undefined): void {
    const form = new URLSearchParams(raw);
    if (form.get('Action') !== 'AssumeRole' || form.get('Version') !== '2011-06-15') {
      return sendStsError(res, 400, 'InvalidAction', 'Could not find operation');
    }
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const durationSeconds = Number(form.get('DurationSeconds') ?? '3600');
    if (!/^arn:aws:iam::[0-9]{12}:role\/[\w+=,.@/-]+$/.test(roleArn) || sessionName === '') {
      return sendStsError(res, 400, 'ValidationError', 'Invalid RoleArn or RoleSessionName');
    }
    if (caller === undefined || caller.startsWith('ASIA')) {
      return sendStsError(res, 403, 'AccessDenied', 'Not authorized to perform sts:AssumeRole');
    }
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secret = randomBytes(30).toString('base64');
    const sessionToken = randomBytes(48).toString('base64');
    const expires = Date.now() + durationSeconds * 1000;
    credentials.set(accessKeyId, { secret, sessionToken, expires });
    assumedRoles.push({ roleArn, sessionName, durationSeconds, accessKeyId });
    const role = roleArn.split('/').pop()!;
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAMOCKROLE:${sessionName}</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/${role}/${sessionName}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
      <SecretAccessKey>${secret}</SecretAccessKey>
      <SessionToken>${sessionToken}</SessionToken>
      <Expiration>${new Date(expires).toISOString()}</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`,
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    region: BEDROCK_MOCK_REGION,
    requests,
    assumedRoles,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// SigV4 verification (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
// ---------------------------------------------------------------------------------------------

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/** Returns the principal (access key id, or `bearer`) or throws the AwsError AWS would answer with. */
function authenticate(
  req: IncomingMessage,
  body: string,
  service: string,
  credentials: Map<string, Credential>,
): string {
  const header = req.headers.authorization ?? '';
  if (service === 'bedrock' && header.startsWith('Bearer ')) {
    if (header.slice('Bearer '.length) === BEDROCK_MOCK_API_KEY) return 'bearer';
    throw new AwsError(
      403,
      'AccessDeniedException',
      'Invalid API Key format: Must start with pre-defined prefix',
    );
  }
  const match = AUTH.exec(header);
  if (!match) throw new AwsError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const [, credential, signedHeadersList, signature] = match;
  const [accessKeyId, date, region, scopeService, terminator] = credential.split('/');
  const known = credentials.get(accessKeyId);
  if (!known) {
    throw new AwsError(
      403,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  if (known.sessionToken !== undefined && req.headers['x-amz-security-token'] !== known.sessionToken) {
    throw new AwsError(
      403,
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  if (known.expires !== undefined && known.expires < Date.now()) {
    throw new AwsError(403, 'ExpiredTokenException', 'The security token included in the request is expired');
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    throw new AwsError(
      403,
      'IncompleteSignatureException',
      'Date must be in ISO-8601 basic format and match the credential scope',
    );
  }
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (Math.abs(Date.now() - signedAt) > CLOCK_SKEW_MS) {
    throw new AwsError(403, 'InvalidSignatureException', 'Signature expired');
  }
  if (region !== BEDROCK_MOCK_REGION || scopeService !== service || terminator !== 'aws4_request') {
    throw new AwsError(
      403,
      'InvalidSignatureException',
      `Credential should be scoped to a valid region and service '${service}'.`,
    );
  }
  const signedHeaders = signedHeadersList.split(';');
  for (const required of ['host', 'x-amz-date', ...(known.sessionToken ? ['x-amz-security-token'] : [])]) {
    if (!signedHeaders.includes(required)) {
      throw new AwsError(403, 'InvalidSignatureException', `'${required}' must be a signed header.`);
    }
  }
  const payloadHash = sha256Hex(body);
  const declared = req.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== payloadHash) {
    throw new AwsError(
      400,
      'XAmzContentSHA256Mismatch',
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  }
  const canonical = [
    req.method ?? 'POST',
    canonicalPath((req.url ?? '/').split('?')[0]),
    canonicalQuery((req.url ?? '').split('?')[1] ?? ''),
    signedHeaders.map((name) => `${name}:${headerValue(req.headers, name)}\n`).join(''),
    signedHeadersList,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${known.secret}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new AwsError(403, 'InvalidSignatureException', SIGNATURE_MISMATCH);
  }
  return accessKeyId;
}

/** Non-S3 services encode each segment of the path as received once more. */
function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .map((pair) => {
      const [k, v = ''] = pair.split('=');
      return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))];
    })
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text.trim().replace(/\s+/g, ' ');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

// ---------------------------------------------------------------------------------------------
// Converse
// ---------------------------------------------------------------------------------------------

interface Reply {
  content: Json[];
  stopReason: 'end_turn' | 'tool_use' | 'max_tokens';
  inputTokens: number;
  outputTokens: number;
}

function converse(body: Json): Reply {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new AwsError(400, 'ValidationException', 'A conversation must start with a user message.');
  }
  let previous: unknown;
  for (const message of messages) {
    if (
      !isJson(message) ||
      (message.role !== 'user' && message.role !== 'assistant') ||
      !Array.isArray(message.content)
    ) {
      throw new AwsError(
        400,
        'ValidationException',
        'Malformed input request, please reformat your input and try again.',
      );
    }
    if (message.role === previous) {
      throw new AwsError(
        400,
        'ValidationException',
        'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
      );
    }
    previous = message.role;
  }
  const toolConfig = isJson(body.toolConfig) ? body.toolConfig : undefined;
  const blocks = messages.flatMap((m) => (m as { content: unknown[] }).content);
  if (!toolConfig && blocks.some((b) => isJson(b) && (b.toolUse || b.toolResult))) {
    throw new AwsError(
      400,
      'ValidationException',
      'The toolConfig field must be defined when using toolUse and toolResult content blocks.',
    );
  }
  const last = messages[messages.length - 1] as { role: string; content: Json[] };
  if (last.role !== 'user') {
    throw new AwsError(400, 'ValidationException', 'A conversation must end with a user message.');
  }
  const system = Array.isArray(body.system)
    ? body.system.filter(isJson).map((s) => (typeof s.text === 'string' ? s.text : ''))
    : [];
  const inputTokens = words([...system, ...blocks.flatMap(textsOf)].join(' '));
  const inference = isJson(body.inferenceConfig) ? body.inferenceConfig : {};
  const maxTokens = typeof inference.maxTokens === 'number' ? inference.maxTokens : undefined;

  const lastTexts = last.content.filter((b) => typeof b.text === 'string').map((b) => String(b.text));
  const toolResult = last.content.find((b) => isJson(b.toolResult));
  const choice = toolConfig && isJson(toolConfig.toolChoice) ? toolConfig.toolChoice : undefined;
  const tools = toolConfig && Array.isArray(toolConfig.tools) ? (toolConfig.tools as Json[]) : [];
  const wantsTool =
    tools.length > 0 &&
    !toolResult &&
    (lastTexts.join(' ').toLowerCase().includes('weather') || isJson(choice?.any) || isJson(choice?.tool));
  if (wantsTool) {
    const named = isJson(choice?.tool) ? String(choice.tool.name) : undefined;
    const spec = tools.map((t) => t.toolSpec as Json).find((s) => named === undefined || s.name === named);
    if (!spec) throw new AwsError(400, 'ValidationException', 'The tool named in toolChoice is not defined.');
    return {
      content: [{ toolUse: { toolUseId: 'tooluse_mock0001', name: spec.name, input: MOCK_TOOL_INPUT } }],
      stopReason: 'tool_use',
      inputTokens,
      outputTokens: words(JSON.stringify(MOCK_TOOL_INPUT)),
    };
  }
  let text = toolResult ? `tool said: ${textsOf(toolResult).join(' ')}` : `echo: ${lastTexts.join(' ')}`;
  let stopReason: Reply['stopReason'] = 'end_turn';
  if (maxTokens !== undefined && words(text) > maxTokens) {
    text = text.split(/\s+/).slice(0, maxTokens).join(' ');
    stopReason = 'max_tokens';
  }
  return { content: [{ text }], stopReason, inputTokens, outputTokens: words(text) };
}

function converseResponse(reply: Reply): Json {
  return {
    output: { message: { role: 'assistant', content: reply.content } },
    stopReason: reply.stopReason,
    usage: usage(reply),
    metrics: { latencyMs: 42 },
  };
}

function converseStream(res: ServerResponse, reply: Reply, throttle: boolean): void {
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': randomUUID(),
    'transfer-encoding': 'chunked',
  });
  const frames: Uint8Array[] = [eventFrame('messageStart', { role: 'assistant' })];
  reply.content.forEach((block, index) => {
    if (typeof block.text === 'string') {
      const pieces = block.text.match(/\s*\S+\s*/g) ?? [block.text];
      for (const [n, piece] of pieces.entries()) {
        if (throttle && n === 2) {
          frames.push(
            exceptionFrame('throttlingException', 'Too many tokens, please wait before trying again.'),
          );
          return;
        }
        frames.push(eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { text: piece } }));
      }
    } else if (isJson(block.toolUse)) {
      const use = block.toolUse;
      frames.push(
        eventFrame('contentBlockStart', {
          contentBlockIndex: index,
          start: { toolUse: { toolUseId: use.toolUseId, name: use.name } },
        }),
      );
      const json = JSON.stringify(use.input);
      const half = Math.ceil(json.length / 2);
      for (const part of [json.slice(0, half), json.slice(half)]) {
        frames.push(
          eventFrame('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: part } } }),
        );
      }
    }
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex: index }));
  });
  if (!throttle) {
    frames.push(eventFrame('messageStop', { stopReason: reply.stopReason }));
    frames.push(eventFrame('metadata', { usage: usage(reply), metrics: { latencyMs: 42 } }));
  }
  // One frame is split across two writes, as TCP may deliver it.
  const all = Buffer.concat(frames);
  const cut = frames[0].length + 7;
  res.write(all.subarray(0, cut));
  setTimeout(() => {
    res.write(all.subarray(cut));
    res.end();
  }, 5);
}

/** Bedrock pads every event with a random-length `p` field so sizes do not leak the content. */
function eventFrame(type: string, payload: Json): Uint8Array {
  const headers: MessageHeaders = {
    ':event-type': { type: 'string', value: type },
    ':content-type': { type: 'string', value: 'application/json' },
    ':message-type': { type: 'string', value: 'event' },
  };
  const body = { ...payload, p: 'abcdefghijklmnopqrstuvwxyz'.slice(0, 1 + (type.length % 20)) };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify(body)) });
}

function exceptionFrame(type: string, message: string): Uint8Array {
  const headers: MessageHeaders = {
    ':exception-type': { type: 'string', value: type },
    ':content-type': { type: 'string', value: 'application/json' },
    ':message-type': { type: 'string', value: 'exception' },
  };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify({ message })) });
}

function usage(reply: Reply): Json {
  return {
    inputTokens: reply.inputTokens,
    outputTokens: reply.outputTokens,
    totalTokens: reply.inputTokens + reply.outputTokens,
  };
}

// ---------------------------------------------------------------------------------------------
// InvokeModel embeddings
// ---------------------------------------------------------------------------------------------

/** A deterministic vector for a text: what the mock's embedding models answer. */
export function mockEmbedding(text: string, dimensions = 8): number[] {
  const digest = createHash('sha256').update(text).digest();
  return Array.from({ length: dimensions }, (_, i) => Number(((digest[i % 32] - 128) / 128).toFixed(6)));
}

function invoke(res: ServerResponse, modelId: string, body: Json): void {
  if (/amazon\.titan-embed-/.test(modelId)) {
    if (
      typeof body.inputText !== 'string' ||
      Object.keys(body).some((k) => !['inputText', 'dimensions', 'normalize', 'embeddingTypes'].includes(k))
    ) {
      throw new AwsError(
        400,
        'ValidationException',
        'Malformed input request: extraneous key or missing inputText',
      );
    }
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 8;
    const tokens = words(body.inputText);
    res.setHeader('x-amzn-bedrock-input-token-count', String(tokens));
    return sendJson(res, 200, {
      embedding: mockEmbedding(body.inputText, dimensions),
      inputTextTokenCount: tokens,
    });
  }
  if (/cohere\.embed-/.test(modelId)) {
    const texts = body.texts;
    if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
      throw new AwsError(
        400,
        'ValidationException',
        'Malformed input request: #: required key [texts] not found',
      );
    }
    if (typeof body.input_type !== 'string') {
      throw new AwsError(
        400,
        'ValidationException',
        'Malformed input request: #: required key [input_type] not found',
      );
    }
    res.setHeader('x-amzn-bedrock-input-token-count', String(words(texts.join(' '))));
    return sendJson(res, 200, {
      embeddings: texts.map((t: string) => mockEmbedding(t)),
      id: randomUUID(),
      response_type: 'embeddings_floats',
      texts,
    });
  }
  throw new AwsError(400, 'ValidationException', 'The provided model identifier is invalid.');
}

// ---------------------------------------------------------------------------------------------

function textsOf(block: unknown): string[] {
  if (!isJson(block)) return [];
  if (typeof block.text === 'string') return [block.text];
  if (isJson(block.toolResult) && Array.isArray(block.toolResult.content)) {
    return block.toolResult.content.flatMap(textsOf);
  }
  return [];
}

function words(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

function sendJson(res: ServerResponse, status: number, body: Json): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
  res.end(JSON.stringify(body));
}

function sendAwsError(res: ServerResponse, error: AwsError): void {
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': `${error.type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
  });
  res.end(JSON.stringify({ message: error.message }));
}

function sendStsError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
  res.end(
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.pause();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
