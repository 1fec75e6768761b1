import { parseAnthropicError } from 'src/modules/providers/adapters/anthropic/anthropic-error.transform';

describe('parseAnthropicError', () => {
  it('reads the documented error body', () => {
    const body = {
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your rate limit.' },
      request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
    };
    expect(parseAnthropicError(429, body)).toEqual({
      message: 'Number of request tokens has exceeded your rate limit.',
      type: 'rate_limit_error',
    });
  });

  it('reads an error body still in text form', () => {
    expect(
      parseAnthropicError(529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    ).toEqual({ message: 'Overloaded', type: 'overloaded_error' });
  });

  it('never echoes an HTML body', () => {
    const info = parseAnthropicError(502, '<html><body>Bad Gateway secret-internal-host</body></html>');
    expect(info).toEqual({ message: 'Anthropic API returned HTTP 502' });
    expect(JSON.stringify(info)).not.toContain('secret');
  });

  it.each([
    [500, 'not json at all', 'api_error'],
    [529, { detail: 'other shape' }, 'overloaded_error'],
    [401, null, 'authentication_error'],
    [413, { error: 'string, not object' }, 'request_too_large'],
  ])('falls back to a generic message for %s with %j', (status, body, type) => {
    expect(parseAnthropicError(status, body)).toEqual({
      message: `Anthropic API returned HTTP ${status}`,
      type,
    });
  });

  it('omits the type for statuses Anthropic does not document', () => {
    expect(parseAnthropicError(418, 'teapot')).toEqual({ message: 'Anthropic API returned HTTP 418' });
  });
});
