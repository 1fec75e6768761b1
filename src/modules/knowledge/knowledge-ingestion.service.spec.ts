import { storeBatches } from 'src/modules/knowledge/knowledge-ingestion.service';

describe('storeBatches', () => {
  const doc = (id: string, chunks: number) => ({ id, chunks: Array.from({ length: chunks }, (_, i) => i) });
  const shape = (batches: { id: string; chunks: number[] }[][]) =>
    batches.map((batch) => batch.map((d) => `${d.id}:${d.chunks.length}`).join(' '));

  it('groups whole documents in order, each batch within the limit', () => {
    const documents = [doc('a', 4), doc('b', 3), doc('c', 3), doc('d', 10), doc('e', 1)];
    expect(shape(storeBatches(documents, 10))).toEqual(['a:4 b:3 c:3', 'd:10', 'e:1']);
  });

  it('never splits a document: one larger than the limit is a batch of its own', () => {
    expect(shape(storeBatches([doc('a', 2), doc('big', 25), doc('c', 2)], 10))).toEqual([
      'a:2',
      'big:25',
      'c:2',
    ]);
  });

  it('keeps documents without chunks (their old chunks are deleted) and every document once', () => {
    const documents = Array.from({ length: 50 }, (_, i) => doc(`d${i}`, i % 7));
    const batches = storeBatches(documents, 20);
    expect(batches.flat().map((d) => d.id)).toEqual(documents.map((d) => d.id));
    expect(batches.every((b) => b.reduce((n, d) => n + d.chunks.length, 0) <= 20)).toBe(true);
    expect(storeBatches([doc('empty', 0)], 20)).toEqual([[doc('empty', 0)]]);
  });
});
