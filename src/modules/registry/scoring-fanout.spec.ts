import { RegistryException } from 'src/modules/registry/registry.exception';
import {
  joinPredictions,
  ScoringChunk,
  scoreChunks,
  splitScoringBody,
  takePartialFlag,
} from 'src/modules/registry/scoring-fanout';

const bodies = (chunks: ScoringChunk[] | undefined) => chunks!.map((c) => JSON.parse(c.text) as unknown);
const rows = (chunks: ScoringChunk[] | undefined) => chunks!.map((c) => [c.start, c.end]);

describe('splitScoringBody', () => {
  it('leaves a body with at most max rows whole', () => {
    expect(splitScoringBody({ json: { instances: [1, 2, 3] } }, 3)).toBeUndefined();
    expect(splitScoringBody({ csv: 'x\n1\n2\n' }, 2)).toBeUndefined();
    expect(splitScoringBody({ json: { messages: [{ role: 'user', content: 'hi' }] } }, 1)).toBeUndefined();
  });

  it('splits dataframe_split data and index, keeping columns and params', () => {
    const chunks = splitScoringBody(
      {
        json: {
          dataframe_split: {
            columns: ['a', 'b'],
            index: [10, 11, 12, 13, 14],
            data: [
              [1, 2],
              [3, 4],
              [5, 6],
              [7, 8],
              [9, 0],
            ],
          },
          params: { k: 1 },
        },
      },
      2,
    );
    expect(rows(chunks)).toEqual([
      [0, 1],
      [2, 3],
      [4, 4],
    ]);
    expect(bodies(chunks)).toEqual([
      {
        dataframe_split: {
          columns: ['a', 'b'],
          index: [10, 11],
          data: [
            [1, 2],
            [3, 4],
          ],
        },
        params: { k: 1 },
      },
      {
        dataframe_split: {
          columns: ['a', 'b'],
          index: [12, 13],
          data: [
            [5, 6],
            [7, 8],
          ],
        },
        params: { k: 1 },
      },
      { dataframe_split: { columns: ['a', 'b'], index: [14], data: [[9, 0]] }, params: { k: 1 } },
    ]);
  });

  it('does not split a dataframe_split whose index does not match its data', () => {
    expect(
      splitScoringBody(
        { json: { dataframe_split: { columns: ['a'], index: [1], data: [[1], [2], [3]] } } },
        1,
      ),
    ).toBeUndefined();
  });

  it('splits dataframe_records', () => {
    const chunks = splitScoringBody({ json: { dataframe_records: [{ x: 1 }, { x: 2 }, { x: 3 }] } }, 2);
    expect(bodies(chunks)).toEqual([
      { dataframe_records: [{ x: 1 }, { x: 2 }] },
      { dataframe_records: [{ x: 3 }] },
    ]);
  });

  it('splits instances and inputs given as lists', () => {
    expect(bodies(splitScoringBody({ json: { instances: [[1], [2], [3], [4]] } }, 3))).toEqual([
      { instances: [[1], [2], [3]] },
      { instances: [[4]] },
    ]);
    expect(bodies(splitScoringBody({ json: { inputs: [1, 2, 3] } }, 1))).toEqual([
      { inputs: [1] },
      { inputs: [2] },
      { inputs: [3] },
    ]);
  });

  it('splits inputs given as a dict of columns, and leaves ragged columns whole', () => {
    expect(bodies(splitScoringBody({ json: { inputs: { a: [1, 2, 3], b: ['x', 'y', 'z'] } } }, 2))).toEqual([
      { inputs: { a: [1, 2], b: ['x', 'y'] } },
      { inputs: { a: [3], b: ['z'] } },
    ]);
    expect(splitScoringBody({ json: { inputs: { a: [1, 2, 3], b: ['x'] } } }, 1)).toBeUndefined();
  });

  it('splits CSV by records, repeating the header, with quoted line breaks kept inside a record', () => {
    const chunks = splitScoringBody({ csv: 'x,t\r\n1,a\r\n2,"b\r\nc"\r\n3,d\r\n' }, 2);
    expect(rows(chunks)).toEqual([
      [0, 1],
      [2, 2],
    ]);
    expect(chunks!.map((c) => c.text)).toEqual(['x,t\r\n1,a\r\n2,"b\r\nc"\r\n', 'x,t\r\n3,d\r\n']);
    expect(splitScoringBody({ csv: 'x\n1\n2\n3' }, 2)!.map((c) => c.text)).toEqual(['x\n1\n2\n', 'x\n3\n']);
  });
});

describe('joinPredictions', () => {
  const chunks: ScoringChunk[] = [
    { start: 0, end: 1, text: '' },
    { start: 2, end: 3, text: '' },
    { start: 4, end: 4, text: '' },
  ];

  it('concatenates prediction lists in order', () => {
    const joined = joinPredictions(
      chunks,
      ['{"predictions":[1,2]}', '{"predictions":[3,4]}', '{"predictions":[5]}'],
      [],
    );
    expect(JSON.parse(joined)).toEqual({ predictions: [1, 2, 3, 4, 5] });
  });

  it('concatenates dicts of columns per column', () => {
    const joined = joinPredictions(
      chunks,
      [
        '{"predictions":{"p":[1,2],"q":[0,0]}}',
        '{"predictions":{"q":[1,1],"p":[3,4]}}',
        '{"predictions":{"p":[5],"q":[2]}}',
      ],
      [],
    );
    expect(JSON.parse(joined)).toEqual({ predictions: { p: [1, 2, 3, 4, 5], q: [0, 0, 1, 1, 2] } });
  });

  it('fills failed chunks with nulls and lists the errors', () => {
    const errors = [{ rows: [2, 3] as [number, number], status: 502, message: 'down' }];
    const joined = joinPredictions(
      chunks,
      ['{"predictions":[1,2]}', undefined, '{"predictions":[5]}'],
      errors,
    );
    expect(JSON.parse(joined)).toEqual({ predictions: [1, 2, null, null, 5], errors });
  });

  it('refuses answers it cannot join with a 502', () => {
    expect(() =>
      joinPredictions(chunks, ['[1,2]', '{"predictions":[3]}', '{"predictions":[5]}'], []),
    ).toThrow(RegistryException);
    expect(() =>
      joinPredictions(
        chunks,
        ['{"predictions":[1,2]}', '{"predictions":{"p":[3,4]}}', '{"predictions":[5]}'],
        [],
      ),
    ).toThrow(/could not be joined/);
  });
});

describe('scoreChunks', () => {
  const chunks: ScoringChunk[] = Array.from({ length: 10 }, (_, i) => ({
    start: i * 10,
    end: i * 10 + 9,
    text: String(i),
  }));
  const failure = (status: number) =>
    new RegistryException(status, 'model_version_unavailable' as never, 'boom', {
      error_code: 'X',
      message: 'boom',
    });

  it('keeps at most `concurrency` calls in flight and answers in order', async () => {
    let inFlight = 0;
    let most = 0;
    const { answers, errors } = await scoreChunks(
      chunks,
      3,
      false,
      new AbortController().signal,
      async (c) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 10 - Number(c.text)));
        inFlight--;
        return c.text;
      },
    );
    expect(most).toBe(3);
    expect(answers).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(errors).toEqual([]);
  });

  it('fails the whole on a chunk that fails, naming its rows and keeping its status', async () => {
    const call = scoreChunks(chunks, 2, false, new AbortController().signal, async (c) => {
      if (c.text === '4') throw failure(503);
      return c.text;
    });
    await expect(call).rejects.toMatchObject({ status: 503, message: 'rows 40–49 failed: boom' });
  });

  it('with partial, collects the failures in row order', async () => {
    const { answers, errors } = await scoreChunks(
      chunks,
      4,
      true,
      new AbortController().signal,
      async (c) => {
        if (c.text === '7' || c.text === '2') throw failure(c.text === '7' ? 502 : 400);
        return c.text;
      },
    );
    expect(answers.filter((a) => a === undefined)).toHaveLength(2);
    expect(errors).toEqual([
      { rows: [20, 29], status: 400, message: 'boom' },
      { rows: [70, 79], status: 502, message: 'boom' },
    ]);
  });
});

describe('scoreChunks observe (gatehouse_scoring_chunks_total)', () => {
  const chunks: ScoringChunk[] = Array.from({ length: 8 }, (_, i) => ({
    start: i * 5,
    end: i * 5 + 4,
    text: String(i),
  }));
  const failure = () =>
    new RegistryException(502, 'model_version_unavailable' as never, 'boom', {
      error_code: 'X',
      message: 'boom',
    });
  const tally = () => {
    const seen = { success: 0, failure: 0 };
    return { seen, observe: (outcome: 'success' | 'failure') => seen[outcome]++ };
  };

  it('with partial, hears every chunk: answered ones and those that failed for good', async () => {
    const { seen, observe } = tally();
    await scoreChunks(
      chunks,
      3,
      true,
      new AbortController().signal,
      async (c) => {
        if (c.text === '1' || c.text === '6') throw failure();
        return c.text;
      },
      observe,
    );
    expect(seen).toEqual({ success: 6, failure: 2 });
  });

  it('without partial, counts the failure that stopped the request once, not the chunks it aborted', async () => {
    const { seen, observe } = tally();
    const call = scoreChunks(
      chunks,
      4,
      false,
      new AbortController().signal,
      async (c, signal) => {
        if (c.text === '0') {
          await new Promise((r) => setTimeout(r, 20));
          throw failure();
        }
        // The others are still in flight when chunk 0 fails; they end as aborted calls.
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 5_000);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        });
        return c.text;
      },
      observe,
    );
    await expect(call).rejects.toMatchObject({ message: 'rows 0–4 failed: boom' });
    expect(seen).toEqual({ success: 0, failure: 1 });
  });
});

describe('takePartialFlag', () => {
  it('strips a boolean partial and refuses anything else', () => {
    expect(takePartialFlag({ instances: [1], partial: true })).toEqual({
      body: { instances: [1] },
      partial: true,
    });
    expect(takePartialFlag({ instances: [1] })).toEqual({ body: { instances: [1] }, partial: false });
    expect(() => takePartialFlag({ instances: [1], partial: 'yes' })).toThrow(
      "'partial' must be true or false.",
    );
  });
});
