import {
  RequestValidationError,
  validateChat,
  validateCompletions,
  validateEmbeddings,
} from 'src/modules/pipeline/request-validation';

const msg = [{ role: 'user', content: 'hi' }];

function paramOf(fn: () => unknown): string | null | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RequestValidationError);
    return (e as RequestValidationError).options.param;
  }
  throw new Error('expected a validation error');
}

describe('request validation', () => {
  it('accepts a full valid chat body and keeps unknown keys for the adapter', () => {
    const body = {
      messages: msg,
      temperature: 0,
      top_p: 1,
      max_tokens: 10,
      n: 2,
      stop: ['x'],
      seed: 7,
      custom: { a: 1 },
    };
    expect(validateChat(body)).toBe(body);
  });

  it.each([
    [{ messages: [] }, 'messages'],
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: [{ text: 'no type' }] }] }, 'messages[0].content'],
    [{ messages: msg, stop: ['a', 1] }, 'stop'],
    [{ messages: msg, tools: [{ type: 'function' }] }, 'tools[0]'],
    [{ messages: msg, max_tokens: 2 ** 53 + 1 }, 'max_tokens'],
    [{ messages: msg, temperature: Number.NaN }, 'temperature'],
    [{ messages: msg, stream: 'yes' }, 'stream'],
    [{ messages: msg, stream_options: { include_usage: 'y' } }, 'include_usage'],
    [{ messages: msg, organization: 'org' }, 'organization'],
    [{ messages: msg, model: 5 }, 'model'],
  ])('rejects %j at %s', (body, param) => {
    expect(paramOf(() => validateChat(body as Record<string, unknown>))).toBe(param);
  });

  it('caps fan-out: at most 4096 messages and 128 tools', () => {
    expect(paramOf(() => validateChat({ messages: Array(4097).fill(msg[0]) }))).toBe('messages');
    const tool = { type: 'function', function: { name: 'f' } };
    expect(paramOf(() => validateChat({ messages: msg, tools: Array(129).fill(tool) }))).toBe('tools');
  });

  it('validates completions prompts and embeddings inputs', () => {
    expect(validateCompletions({ prompt: ['a', 'b'] }).prompt).toEqual(['a', 'b']);
    expect(paramOf(() => validateCompletions({ prompt: 3 }))).toBe('prompt');
    expect(paramOf(() => validateCompletions({ prompt: 'x', best_of: 50 }))).toBe('best_of');
    expect(validateEmbeddings({ input: [[1, 2], [3]] }).input).toEqual([[1, 2], [3]]);
    expect(validateEmbeddings({ input: [1, 2, 3] }).input).toEqual([1, 2, 3]);
    expect(paramOf(() => validateEmbeddings({ input: '' }))).toBe('input');
    expect(paramOf(() => validateEmbeddings({ input: [] }))).toBe('input');
    expect(paramOf(() => validateEmbeddings({ input: ['a', 1] }))).toBe('input');
    expect(paramOf(() => validateEmbeddings({ input: 'x', encoding_format: 'hex' }))).toBe('encoding_format');
  });
});
