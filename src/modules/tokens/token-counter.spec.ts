import { TokenCounter } from 'src/modules/tokens/token-counter';

describe('TokenCounter', () => {
  const counter = new TokenCounter();

  it('chooses the real tokenizer for OpenAI models and the approximation for others', () => {
    expect(TokenCounter.choose('openai', 'gpt-4o-mini')).toEqual({ encoding: 'o200k_base' });
    expect(TokenCounter.choose('openai', 'gpt-4')).toEqual({ encoding: 'cl100k_base' });
    expect(TokenCounter.choose('openai', 'gpt-3.5-turbo')).toEqual({ encoding: 'cl100k_base' });
    expect(TokenCounter.choose('azure', 'gpt-4.1')).toEqual({ encoding: 'o200k_base' });
    expect(TokenCounter.choose('anthropic', 'claude-3-5-sonnet')).toEqual({ encoding: null });
  });

  it('counts OpenAI tokens exactly as tiktoken does, with the per-message overhead', async () => {
    const o200k = await counter.counterFor({ encoding: 'o200k_base' });
    // "hello world" is two tokens in both o200k and cl100k.
    expect(o200k.text('hello world')).toBe(2);
    // 3 (reply priming) + 3 + "user"(1) + "hello world"(2)
    expect(o200k.messages([{ role: 'user', content: 'hello world' }])).toBe(9);
    // A special-token marker in user text is ordinary text, not a single special token.
    expect(o200k.text('<|endoftext|>')).toBeGreaterThan(1);
    const cl100k = await counter.counterFor({ encoding: 'cl100k_base' });
    expect(cl100k.text('tiktoken is great!')).toBe(6);
  });

  it('approximates other models at ceil(characters / 3)', async () => {
    const approx = await counter.counterFor({ encoding: null });
    expect(approx.text('abcdefg')).toBe(3);
    expect(approx.messages([{ role: 'user', content: 'abcdef' }])).toBe(3 + 3 + 2 + 2);
  });
});
