import { compressMessages } from 'src/modules/conversations/context-compressor';

describe('compressMessages', () => {
  it('squeezes whitespace and drops exact consecutive repeats', () => {
    expect(
      compressMessages([
        { role: 'system', content: '  be   brief\t\tplease  ' },
        { role: 'user', content: 'line one   \n\n\n\n   line two' },
        { role: 'user', content: 'line one\n\nline two' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'a    b' }] },
      ]),
    ).toEqual([
      { role: 'system', content: 'be brief please' },
      { role: 'user', content: 'line one\n\nline two' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'text', text: 'a b' }] },
    ]);
  });

  it('keeps repeated tool results and messages that differ in role', () => {
    const messages = [
      { role: 'tool', content: 'done', tool_call_id: '1' },
      { role: 'tool', content: 'done', tool_call_id: '2' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hi' },
    ];
    expect(compressMessages(messages)).toHaveLength(4);
  });
});
