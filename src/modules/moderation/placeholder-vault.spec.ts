import { PiiCheck } from 'src/modules/moderation/checks/pii.check';
import { PII_ENTITIES } from 'src/modules/moderation/checks/pii.detectors';
import { runStage } from 'src/modules/moderation/moderation-pipeline';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import { ExternalModerationCaller } from 'src/modules/moderation/moderation.types';

const noExternal: ExternalModerationCaller = {
  complete: () => Promise.reject(new Error('unused')),
  moderate: () => Promise.reject(new Error('unused')),
};

function pii(mode: 'mask' | 'placeholder') {
  return new PiiCheck({
    name: 'pii',
    action: 'redact',
    mode,
    entities: PII_ENTITIES,
    defaultRegion: 'US',
    entropyThreshold: 4.2,
  });
}

describe('PII redaction', () => {
  const text =
    'Mail jane.doe@example.com, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, again jane.doe@example.com';

  it('masks every kind with a fixed label', async () => {
    const vault = new PlaceholderVault();
    const outcome = await runStage([pii('mask')], 'input', [{ text, role: 'user' }], {
      vault,
      external: noExternal,
      signal: new AbortController().signal,
    });
    expect(outcome.action).toBe('redact');
    expect(outcome.texts[0]).toBe('Mail [EMAIL], card [CARD], IBAN [IBAN], again [EMAIL]');
    expect(vault.size).toBe(0);
    expect(outcome.verdicts[0].detections.map((d) => d.category)).toEqual([
      'pii.email',
      'pii.card',
      'pii.iban',
      'pii.email',
    ]);
  });

  it('round-trips reversible placeholders: same value, same placeholder, restored exactly', async () => {
    const vault = new PlaceholderVault();
    const outcome = await runStage([pii('placeholder')], 'input', [{ text, role: 'user' }], {
      vault,
      external: noExternal,
      signal: new AbortController().signal,
    });
    const redacted = outcome.texts[0];
    expect(redacted).toBe(
      'Mail <<PII_EMAIL_1>>, card <<PII_CARD_1>>, IBAN <<PII_IBAN_1>>, again <<PII_EMAIL_1>>',
    );
    expect(redacted).not.toContain('jane');
    expect(vault.restore(redacted)).toBe(text);
    // A model's answer that reuses the placeholders gets the caller's values back; unknown ones stay.
    expect(vault.restore('Sent to <<PII_EMAIL_1>> (not <<PII_EMAIL_9>>).')).toBe(
      'Sent to jane.doe@example.com (not <<PII_EMAIL_9>>).',
    );
  });

  it('restores placeholders split across stream chunks at any point', () => {
    const vault = new PlaceholderVault();
    const p = vault.placeholderFor('EMAIL', 'a@b.co');
    const full = `Reply to ${p} and ${p}. Bye <<not a placeholder`;
    for (let size = 1; size <= 7; size++) {
      const restorer = vault.streamRestorer();
      let out = '';
      for (let i = 0; i < full.length; i += size) out += restorer.push(full.slice(i, i + size));
      out += restorer.flush();
      expect(out).toBe('Reply to a@b.co and a@b.co. Bye <<not a placeholder');
    }
  });
});
