import { SseParser } from 'src/modules/providers/sse-parser';

describe('SseParser', () => {
  it('parses events split across arbitrary pieces and line endings', () => {
    const text = 'event: a\r\ndata: {"x":1}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\ndata:[DONE]\r\r';
    for (const size of [1, 2, 3, 7, text.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.feed(text.slice(i, i + size)));
      events.push(...parser.end());
      expect(events).toEqual([{ event: 'a', data: '{"x":1}' }, { data: 'line1\nline2' }, { data: '[DONE]' }]);
    }
  });

  it('flushes a trailing event without a blank line at end of input', () => {
    const parser = new SseParser();
    expect(parser.feed('data: tail')).toEqual([]);
    expect(parser.end()).toEqual([{ data: 'tail' }]);
  });

  it('ignores fields it does not know and events without data', () => {
    const parser = new SseParser();
    expect(parser.feed('id: 1\nretry: 10\nevent: ping\n\n')).toEqual([]);
  });
});
