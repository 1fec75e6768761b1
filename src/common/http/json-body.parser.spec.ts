import { GatewayException } from 'src/common/errors/gateway.exception';
import { exceedsJsonDepth, parseJsonBody } from 'src/common/http/json-body.parser';

function errorOf(fn: () => unknown): GatewayException {
  try {
    fn();
  } catch (e) {
    return e as GatewayException;
  }
  throw new Error('expected a throw');
}

describe('parseJsonBody', () => {
  it('parses a JSON object', () => {
    expect(parseJsonBody('{"a":[1,{"b":"c"}]}')).toEqual({ a: [1, { b: 'c' }] });
  });

  it('counts depth outside strings only', () => {
    expect(exceedsJsonDepth('['.repeat(64) + ']'.repeat(64))).toBe(false);
    expect(exceedsJsonDepth('['.repeat(65) + ']'.repeat(65))).toBe(true);
    expect(exceedsJsonDepth(`{"a":"${'['.repeat(500)}"}`)).toBe(false);
    expect(exceedsJsonDepth(`{"a":"\\"${'{'.repeat(100)}"}`)).toBe(false);
  });

  it('counts openings of both kinds before walking, and walks past the count', () => {
    // 40 objects in 40 arrays: 80 openings, yet depth 2 — the walk decides.
    expect(exceedsJsonDepth(`[${'[{}],'.repeat(39)}[{}]]`)).toBe(false);
    // Depth 65 made of mixed brackets: both kinds are counted.
    expect(exceedsJsonDepth(`${'[{"a":'.repeat(32)}[${'}]'.repeat(32)}]`)).toBe(true);
    expect(exceedsJsonDepth(`${'[{"a":'.repeat(32)}${'}]'.repeat(32)}`)).toBe(false);
  });

  it('rejects nesting deeper than 64 with 400, even at depth 100000', () => {
    const deep = '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    const error = errorOf(() => parseJsonBody(deep));
    expect(error.status).toBe(400);
    expect(error.message).toContain('deeper than 64');
  });

  it.each([
    ['{"a":', 'not valid JSON'],
    ['42', 'must be a JSON object'],
    ['[1,2]', 'must be a JSON object'],
    ['null', 'must be a JSON object'],
    ['', 'empty'],
    ['{"__proto__":{"isAdmin":true}}', 'forbidden key'],
    ['{"constructor":{"prototype":{"x":1}}}', 'forbidden key'],
    // Escaped spellings decode to the same keys: the check looks at decoded keys, at any depth.
    ['{"\\u005f_proto__":{"isAdmin":true}}', 'forbidden key'],
    ['{"a":[{"b":{"\\u0063onstructor":1}}]}', 'forbidden key'],
    ['{"tools":[{"x":{"prototype":{}}}]}', 'forbidden key'],
    ['{"messages":"\\ud800"}', 'lone UTF-16 surrogate'],
  ])('rejects %s with 400', (body, message) => {
    const error = errorOf(() => parseJsonBody(body));
    expect(error.status).toBe(400);
    expect(error.message).toContain(message);
  });

  it('accepts the words as values and escapes elsewhere', () => {
    expect(parseJsonBody('{"content":"__proto__ constructor prototype","t":"\\u00e9"}')).toEqual({
      content: '__proto__ constructor prototype',
      t: 'é',
    });
  });

  it('accepts well-formed surrogate pairs', () => {
    expect(parseJsonBody('{"t":"\\ud83d\\ude00"}')).toEqual({ t: '😀' });
  });
});
