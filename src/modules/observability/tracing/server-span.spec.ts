import { Span } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import { InvocationRecord } from 'src/common/observability/invocation';
import {
  annotateServerSpan,
  isProbe,
  linkFastifyRequest,
} from 'src/modules/observability/tracing/server-span';

function recordingSpan(): { span: Span; attributes: Record<string, unknown> } {
  const attributes: Record<string, unknown> = {};
  const span = {
    setAttribute(key: string, value: unknown) {
      attributes[key] = value;
      return span;
    },
    setAttributes(values: Record<string, unknown>) {
      Object.assign(attributes, values);
      return span;
    },
  } as unknown as Span;
  return { span, attributes };
}

function request(invocation: InvocationRecord | undefined, body: unknown): { raw: object } & FastifyRequest {
  const req = {
    id: 'req-1',
    raw: {},
    body,
    invocation: invocation && { record: invocation, responseHeaders: {} },
    principal: { id: 'p-1', teamId: 'team-a', apiKeyId: 'k-1' },
  } as unknown as { raw: object } & FastifyRequest;
  linkFastifyRequest(req);
  return req;
}

const record: InvocationRecord = {
  requestId: 'req-1',
  startedAt: 0,
  startedHr: 0,
  surface: 'predict',
  operation: 'predict',
  stream: false,
  endpoint: 'churn',
  target: 'churn@7',
  provider: 'mlflow-model-serving',
  model: 'churn-model',
  modelVersion: '7',
  attempts: 1,
  cacheHit: false,
};

describe('server span attributes', () => {
  it('are taken from the invocation record and the principal (predict: MLflow model name and version)', () => {
    const { span, attributes } = recordingSpan();
    const req = request(record, { inputs: [[1, 2]] });
    annotateServerSpan(span, req.raw, { writableFinished: true, statusCode: 200 }, false);
    expect(attributes).toMatchObject({
      'gatehouse.request_id': 'req-1',
      'gatehouse.principal': 'p-1',
      'gatehouse.team': 'team-a',
      'gatehouse.endpoint': 'churn',
      'gatehouse.target': 'churn@7',
      'gatehouse.attempts': 1,
      'gatehouse.cache_hit': false,
      'gatehouse.outcome': 'success',
      'gen_ai.operation.name': 'predict',
      'gen_ai.provider.name': 'mlflow-model-serving',
      'mlflow.model.name': 'churn-model',
      'mlflow.model.version': '7',
    });
    expect(attributes['gen_ai.request.model']).toBeUndefined();
    expect(attributes['gen_ai.input.messages']).toBeUndefined();
  });

  it('mark a response the client abandoned as cancelled', () => {
    const { span, attributes } = recordingSpan();
    annotateServerSpan(span, request(record, {}).raw, { writableFinished: false, statusCode: 200 }, false);
    expect(attributes['gatehouse.outcome']).toBe('cancelled');
  });

  it('carry the prompt only with GATEHOUSE_TRACE_CONTENT, and then redacted', () => {
    const { span, attributes } = recordingSpan();
    const chat = {
      ...record,
      surface: 'openai',
      operation: 'chat',
      provider: 'openai',
      model: 'gpt-4o-mini',
    };
    const secret = 'sk-proj-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz';
    const body = {
      model: 'chat',
      messages: [{ role: 'user', content: `mail jane.doe@example.com, key ${secret}, about the weather` }],
    };
    annotateServerSpan(span, request(chat, body).raw, { writableFinished: true, statusCode: 200 }, true);
    const text = String(attributes['gen_ai.input.messages']);
    expect(text).toContain('about the weather');
    expect(text).toContain('[EMAIL]');
    expect(text).not.toContain('jane.doe@example.com');
    expect(text).not.toContain(secret);
    expect(attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
  });

  it('skip probes and scrapes', () => {
    expect(['/health', '/health/live', '/health/ready', '/metrics', '/metrics?x=1'].every(isProbe)).toBe(
      true,
    );
    expect(['/healthz-not', '/v1/models', '/api/2.0/endpoints/'].some(isProbe)).toBe(false);
  });
});
