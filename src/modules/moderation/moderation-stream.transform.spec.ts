import { DenyListCheck } from 'src/modules/moderation/checks/deny-list.check';
import { PiiCheck } from 'src/modules/moderation/checks/pii.check';
import { PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';
import { ModerationBlockedException } from 'src/modules/moderation/moderation.exception';
import { guardStream } from 'src/modules/moderation/moderation-stream.transform';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import { CheckVerdict, ModerationCheck } from 'src/modules/moderation/moderation.types';
import { CanonicalChunk, ChatCompletionChunk } from 'src/modules/providers/provider-adapter';

const piiMask = new PiiCheck({
  name: 'pii',
  action: 'redact',
  mode: 'mask',
  entities: PII_ENTITIES,
  defaultRegion: 'US',
  entropyThreshold: 4.2,
});
const deny = new DenyListCheck({
  name: 'secrets',
  action: 'block',
  keywords: ['project nightingale'],
  patterns: [],
  profanity: false,
});

function chunk(content: string | undefined, finish: string | null = null): ChatCompletionChunk {
  return {
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
  };
}

async function* source(pieces: string[]): AsyncGenerator<CanonicalChunk> {
  yield chunk('');
  for (const piece of pieces) yield chunk(piece);
  yield chunk(undefined, 'stop');
}

async function collect(pieces: string[], checks: ModerationCheck[], vault = new PlaceholderVault()) {
  const recorded: CheckVerdict[] = [];
  const released: string[] = [];
  const stream = guardStream(source(pieces), {
    incremental: checks,
    final: [],
    window: 32,
    ctx: {
      stage: 'output',
      vault,
      external: {
        complete: () => Promise.reject(new Error('x')),
        moderate: () => Promise.reject(new Error('x')),
      },
      signal: new AbortController().signal,
    },
    vault,
    record: (v) => recorded.push(v),
  });
  for await (const c of stream) {
    const content = (c as ChatCompletionChunk).choices[0]?.delta.content;
    if (typeof content === 'string') released.push(content);
  }
  return { text: released.join(''), released, recorded };
}

/** Splits a text into pieces of the given sizes, cycling. */
function split(text: string, sizes: number[]): string[] {
  const out: string[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const size = sizes[k % sizes.length];
    out.push(text.slice(i, i + size));
    i += size;
  }
  return out;
}

describe('stream guard', () => {
  const text =
    'Sure. The card on file is 4111 1111 1111 1111 and mail goes to jane.doe@example.com today. Anything else?';

  it.each([[[1]], [[3, 5]], [[7]], [[2, 11, 4]], [[40]]])(
    'redacts a match split across chunks before it leaves (chunk sizes %j)',
    async (sizes) => {
      const { text: out, released } = await collect(split(text, sizes), [piiMask]);
      expect(out).toBe('Sure. The card on file is [CARD] and mail goes to [EMAIL] today. Anything else?');
      // No released piece ever carried a fragment of the card or the address.
      for (const piece of released) {
        expect(piece).not.toMatch(/4111|1111|jane|example\.com/);
      }
    },
  );

  it('ends the stream with a block when a denied phrase arrives split across chunks', async () => {
    const pieces = [
      'Our codename is Project Night',
      'ingale, which ',
      'launches soon and more text follows here.',
    ];
    let released = '';
    let error: unknown;
    try {
      const result = await collect(pieces, [deny]);
      released = result.text;
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModerationBlockedException);
    expect((error as ModerationBlockedException).message).toBe(
      "Guardrail 'secrets' blocked: the response contains a denied term.",
    );
    expect(released).toBe('');
  });

  it('releases text promptly once it is a window behind, at word boundaries', async () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `);
    const { released, text: out } = await collect(words, [piiMask]);
    expect(out).toBe(words.join(''));
    // Text flows during the stream, not only at the end.
    const nonEmpty = released.filter((p) => p.length > 0);
    expect(nonEmpty.length).toBeGreaterThan(20);
    for (const piece of nonEmpty.slice(0, -1)) expect(piece.endsWith(' ')).toBe(true);
  });

  it('restores reversible placeholders in the released text', async () => {
    const vault = new PlaceholderVault();
    const p = vault.placeholderFor('EMAIL', 'jane.doe@example.com');
    const { text: out } = await collect(split(`I will write to ${p} now.`, [3]), [], vault);
    expect(out).toBe('I will write to jane.doe@example.com now.');
  });
});
