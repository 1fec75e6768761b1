import { InputLineError, JsonlSplitter, parseInputLine } from 'src/modules/batch/batch-input';

const good = (id: string) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } });

describe('parseInputLine', () => {
  it('accepts a documented request line', () => {
    expect(parseInputLine(good('a'), 1)).toEqual({
      customId: 'a',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'm' },
    });
  });

  it.each([
    ['{nope', 'Line 4: not valid JSON.'],
    ['[1]', 'Line 4: each line must be a JSON object.'],
    [
      JSON.stringify({ method: 'POST' }),
      "Line 4: 'custom_id' must be a non-empty string (at most 512 characters).",
    ],
    [JSON.stringify({ custom_id: 'x', method: 'GET' }), "Line 4: 'method' must be 'POST'."],
    [
      JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/images' }),
      "Line 4: 'url' must be one of /v1/chat/completions, /v1/embeddings, /v1/completions.",
    ],
    [
      JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/embeddings', body: { input: 'a' } }),
      "Line 4: 'body.model' must name the model (a gateway endpoint).",
    ],
  ])('names the line and the problem: %s', (text, message) => {
    expect(() => parseInputLine(text, 4)).toThrow(new InputLineError(4, message.replace('Line 4: ', '')));
    expect(() => parseInputLine(text, 4)).toThrow(message);
  });
});

describe('JsonlSplitter', () => {
  it('numbers lines across arbitrary byte boundaries, multi-byte characters included', () => {
    const text = `${good('é')}\n\n${good('日本')}\r\n${good('z')}`;
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const splitter = new JsonlSplitter();
      const lines: { line: number; text: string }[] = [];
      for (let at = 0; at < bytes.length; at += size)
        lines.push(...splitter.push(bytes.subarray(at, at + size)));
      lines.push(...splitter.end());
      expect(lines.map((l) => [l.line, parseInputLine(l.text, l.line).customId])).toEqual([
        [1, 'é'],
        [3, '日本'],
        [4, 'z'],
      ]);
    }
  });

  it('refuses bytes that are not UTF-8, naming the line', () => {
    const splitter = new JsonlSplitter();
    splitter.push(Buffer.from(`${good('a')}\n`));
    expect(() => splitter.push(Buffer.from([0x7b, 0xff, 0xfe, 0x0a]))).toThrow('Line 2: not valid UTF-8.');
  });
});
