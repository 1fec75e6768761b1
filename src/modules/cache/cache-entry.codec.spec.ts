import { decodeEntry, encodeEntry, entryJson, usageOf } from 'src/modules/cache/cache-entry.codec';
import { Embeddings } from 'src/modules/providers/provider-adapter';

const response: Embeddings = {
  object: 'list',
  model: 'text-embedding-3-small',
  data: [{ object: 'embedding', index: 0, embedding: Array.from({ length: 512 }, () => 0.125) }],
  usage: { prompt_tokens: 4, total_tokens: 4 },
};

describe('cache entry codec', () => {
  it('stores small entries raw and large ones brotli-compressed, and reads both back', async () => {
    const json = entryJson({ key: 'k1', createdAt: 42, op: 'embeddings', kind: 'response' }, { response });
    const raw = await encodeEntry(json, 1_000_000);
    const packed = await encodeEntry(json, 100);
    expect(raw[0]).toBe(0);
    expect(raw.length).toBe(Buffer.byteLength(json) + 1);
    expect(packed[0]).toBe(1);
    expect(packed.length).toBeLessThan(raw.length / 5);
    for (const encoded of [raw, packed]) {
      const entry = await decodeEntry(encoded, 'k1');
      expect(entry).toEqual({ key: 'k1', createdAt: 42, op: 'embeddings', kind: 'response', response });
      await expect(decodeEntry(encoded, 'k2')).rejects.toThrow('another key');
      expect(usageOf(entry)).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    }
  });

  it('keeps stream chunks as captured and finds their usage', async () => {
    const chunkJson = [
      JSON.stringify({ id: 'a', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [] }),
      JSON.stringify({
        id: 'a',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [],
        usage: { prompt_tokens: 1, total_tokens: 2 },
      }),
    ];
    const entry = await decodeEntry(
      await encodeEntry(entryJson({ key: 'k', createdAt: 1, op: 'chat', kind: 'stream' }, { chunkJson }), 0),
      'k',
    );
    expect(entry.chunks).toHaveLength(2);
    expect(usageOf(entry)).toEqual({ prompt_tokens: 1, total_tokens: 2 });
  });

  it('rejects unknown or damaged data', async () => {
    await expect(decodeEntry(Buffer.from([9, 1, 2]), 'k')).rejects.toThrow('unknown cache entry format');
    await expect(
      decodeEntry(Buffer.concat([Buffer.of(0), Buffer.from('{"key":"k","kind":"stream"}')]), 'k'),
    ).rejects.toThrow('malformed');
  });
});
