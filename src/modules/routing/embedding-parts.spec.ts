import { Embeddings } from 'src/modules/providers/provider-adapter';
import { joinEmbeddings, splitEmbeddings } from 'src/modules/routing/routing.service';

describe('embeddings split into the calls a model takes', () => {
  it('splits a list longer than the limit, in order, keeping the other fields', () => {
    const parts = splitEmbeddings({ input: ['a', 'b', 'c', 'd', 'e'], dimensions: 4 }, 2);
    expect(parts).toEqual([
      { input: ['a', 'b'], dimensions: 4 },
      { input: ['c', 'd'], dimensions: 4 },
      { input: ['e'], dimensions: 4 },
    ]);
    expect(splitEmbeddings({ input: [[1, 2], [3], [4]] }, 1)?.map((p) => p.input)).toEqual([
      [[1, 2]],
      [[3]],
      [[4]],
    ]);
  });

  it('leaves alone what fits: no limit, a short list, a single string, one token array', () => {
    expect(splitEmbeddings({ input: ['a', 'b'] }, undefined)).toBeUndefined();
    expect(splitEmbeddings({ input: ['a', 'b'] }, 2)).toBeUndefined();
    expect(splitEmbeddings({ input: 'a b c' }, 1)).toBeUndefined();
    expect(splitEmbeddings({ input: [1, 2, 3] }, 1)).toBeUndefined();
  });

  it('joins answers renumbered in order with usage summed (null if a part had none)', () => {
    const answer = (vectors: number[][], tokens: number | null, shuffled = false): Embeddings => {
      const data = vectors.map((embedding, index) => ({ object: 'embedding' as const, embedding, index }));
      return {
        object: 'list',
        data: shuffled ? [...data].reverse() : data,
        model: 'm',
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    };
    const joined = joinEmbeddings([answer([[1], [2]], 3, true), answer([[3]], 4)]);
    expect(joined.data.map((d) => [d.index, d.embedding])).toEqual([
      [0, [1]],
      [1, [2]],
      [2, [3]],
    ]);
    expect(joined.usage).toEqual({ prompt_tokens: 7, total_tokens: 7 });
    expect(joinEmbeddings([answer([[1]], 3), answer([[2]], null)]).usage.total_tokens).toBeNull();
  });
});
