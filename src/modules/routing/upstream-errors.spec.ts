import { GatewayErrorCode } from 'src/common/errors/gateway.exception';
import { UpstreamFailure } from 'src/infra/http/upstream-http.client';
import { fromUpstreamFailure, fromUpstreamStatus } from 'src/modules/routing/upstream-errors';

describe('upstream error mapping', () => {
  it.each([
    [400, 400, GatewayErrorCode.InvalidRequest],
    [413, 413, GatewayErrorCode.InvalidRequest],
    [422, 422, GatewayErrorCode.InvalidRequest],
    [401, 502, GatewayErrorCode.UpstreamError],
    [403, 502, GatewayErrorCode.UpstreamError],
    [404, 502, GatewayErrorCode.UpstreamError],
    [408, 504, GatewayErrorCode.UpstreamTimeout],
    [429, 429, GatewayErrorCode.UpstreamRateLimited],
    [500, 502, GatewayErrorCode.UpstreamError],
    [503, 503, GatewayErrorCode.UpstreamUnavailable],
    [529, 503, GatewayErrorCode.UpstreamUnavailable],
    [504, 504, GatewayErrorCode.UpstreamTimeout],
  ])('upstream %i → %i', (upstream, status, code) => {
    const error = fromUpstreamStatus(upstream, { message: 'boom' }, {});
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
  });

  it('keeps Retry-After for 429 and 503, and hides credential messages', () => {
    expect(
      fromUpstreamStatus(429, { message: 'slow down' }, { 'retry-after': '12' }).options.retryAfter,
    ).toBe('12');
    expect(fromUpstreamStatus(503, { message: 'x' }, { 'retry-after': ['4'] }).options.retryAfter).toBe('4');
    expect(
      fromUpstreamStatus(401, { message: 'Incorrect API key provided: sk-abc***' }, {}).message,
    ).not.toContain('sk-');
  });

  it('flattens and clips long upstream messages', () => {
    const message = fromUpstreamStatus(400, { message: `line1\nline2${'x'.repeat(5000)}` }, {}).message;
    expect(message.startsWith('line1 line2')).toBe(true);
    expect(message.length).toBeLessThanOrEqual(1001);
  });

  it.each([
    ['timeout', 504],
    ['connect', 502],
    ['too_large', 502],
    ['protocol', 502],
  ] as const)('transport failure %s → %i', (kind, status) => {
    expect(fromUpstreamFailure(new UpstreamFailure(kind, 'x')).status).toBe(status);
  });
});
