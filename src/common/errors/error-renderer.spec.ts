import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { renderError, toGatewayException } from 'src/common/errors/error-renderer';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { surfaceOf } from 'src/common/errors/error-surface';

describe('error rendering', () => {
  it('picks the surface from the path', () => {
    expect(surfaceOf('/v1/chat/completions')).toBe('openai');
    expect(surfaceOf('/api/2.0/endpoints/x')).toBe('mlflow');
    expect(surfaceOf('/endpoints/x/invocations')).toBe('mlflow');
    expect(surfaceOf('/gateway/x/invocations')).toBe('mlflow');
    expect(surfaceOf('/health')).toBe('mlflow');
    expect(surfaceOf('/health/ready')).toBe('admin');
    expect(surfaceOf('/admin/v1/keys')).toBe('admin');
    expect(surfaceOf('/v1/messages')).toBe('anthropic');
    expect(surfaceOf('/v1/messages/count_tokens')).toBe('anthropic');
    expect(surfaceOf('/v1/messagesx')).toBe('openai');
    expect(surfaceOf('/gateway/anthropic/v1/messages')).toBe('anthropic');
    expect(surfaceOf('/gateway/openai/v1/chat/completions')).toBe('openai');
  });

  it("renders Anthropic's envelope with its error types", () => {
    const render = (status: number) =>
      renderError(new GatewayException(status, GatewayErrorCode.InvalidRequest, 'why'), 'anthropic', 'r7');
    expect(render(404)).toEqual({
      status: 404,
      headers: {},
      body: { type: 'error', error: { type: 'not_found_error', message: 'why' }, request_id: 'r7' },
    });
    const types = [400, 401, 403, 413, 429, 500, 502, 503, 529].map(
      (s) => (render(s).body as { error: { type: string } }).error.type,
    );
    expect(types).toEqual([
      'invalid_request_error',
      'authentication_error',
      'permission_error',
      'request_too_large',
      'rate_limit_error',
      'api_error',
      'api_error',
      'overloaded_error',
      'overloaded_error',
    ]);
  });

  it('renders each surface envelope', () => {
    const error = new GatewayException(429, GatewayErrorCode.UpstreamRateLimited, 'slow', {
      retryAfter: '5',
    });
    expect(renderError(error, 'openai', 'r1')).toEqual({
      status: 429,
      headers: { 'retry-after': '5' },
      body: {
        error: { message: 'slow', type: 'rate_limit_error', param: null, code: 'upstream_rate_limited' },
      },
    });
    expect(renderError(error, 'mlflow', 'r1').body).toEqual({ detail: 'slow' });
    expect(renderError(error, 'admin', 'r1').body).toEqual({
      statusCode: 429,
      code: 'upstream_rate_limited',
      message: 'slow',
      requestId: 'r1',
    });
  });

  it('never lets an unknown error text out', () => {
    const { exception, unexpected } = toGatewayException(
      new Error('password authentication failed for user "root"'),
    );
    expect(unexpected).toBe(true);
    const rendered = renderError(exception, 'openai', 'req-9');
    expect(rendered.status).toBe(500);
    expect(JSON.stringify(rendered.body)).not.toContain('password');
    expect(JSON.stringify(rendered.body)).toContain('req-9');
  });

  it('maps framework exceptions to gateway codes', () => {
    expect(toGatewayException(new NotFoundException()).exception.code).toBe(GatewayErrorCode.RouteNotFound);
    const tooLarge = toGatewayException(new PayloadTooLargeException()).exception;
    expect([tooLarge.status, tooLarge.code]).toEqual([413, GatewayErrorCode.PayloadTooLarge]);
    const fastify = toGatewayException(
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }),
    );
    expect([fastify.exception.status, fastify.unexpected]).toEqual([415, false]);
  });
});
