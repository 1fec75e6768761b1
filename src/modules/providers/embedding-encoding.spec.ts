import { applyEncodingFormat, toBase64Float32 } from 'src/modules/providers/embedding-encoding';
import { Embeddings } from 'src/modules/providers/provider-adapter';

const list = (embedding: number[] | string): Embeddings => ({
  object: 'list',
  data: [{ object: 'embedding', embedding, index: 0 }],
  model: 'm',
  usage: { prompt_tokens: 1, total_tokens: 1 },
});

describe('applyEncodingFormat', () => {
  it('encodes float vectors as base64 little-endian float32 when the client asked for base64', () => {
    const out = applyEncodingFormat(
      'embeddings',
      { input: 'x', encoding_format: 'base64' },
      list([1, -2.5, 0.25]),
    );
    const encoded = (out as Embeddings).data[0].embedding as string;
    const bytes = Buffer.from(encoded, 'base64');
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual([1, -2.5, 0.25]);
    expect(encoded).toBe(toBase64Float32([1, -2.5, 0.25]));
  });

  it('leaves floats alone without base64, and strings (already encoded upstream) alone with it', () => {
    expect(
      (applyEncodingFormat('embeddings', { input: 'x' }, list([1])) as Embeddings).data[0].embedding,
    ).toEqual([1]);
    expect(
      (
        applyEncodingFormat(
          'embeddings',
          { input: 'x', encoding_format: 'base64' },
          list('AACAPw=='),
        ) as Embeddings
      ).data[0].embedding,
    ).toBe('AACAPw==');
  });
});
