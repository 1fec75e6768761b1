import { CountryCode } from 'libphonenumber-js/max';
import { detectPii, PiiEntity } from 'src/modules/moderation/checks/pii.detectors';
import { replaceSpans } from 'src/modules/moderation/checks/redaction';
import { CheckContext, CheckVerdict, ModerationCheck } from 'src/modules/moderation/moderation.types';

export interface PiiCheckOptions {
  name: string;
  action: 'redact' | 'block' | 'flag';
  /** `mask` → `[EMAIL]`; `placeholder` → `<<PII_EMAIL_1>>`, restored in the response to the same caller. */
  mode: 'mask' | 'placeholder';
  entities: readonly PiiEntity[];
  defaultRegion: CountryCode;
  entropyThreshold: number;
}

const MASK: Record<PiiEntity, string> = {
  email: 'EMAIL',
  phone: 'PHONE',
  card: 'CARD',
  iban: 'IBAN',
  ssn: 'SSN',
  ip: 'IP',
  credential: 'CREDENTIAL',
};

/** Personal data and secrets, each validated (Luhn, IBAN mod-97, SSA rules, phone plans, entropy). */
export class PiiCheck implements ModerationCheck {
  readonly type = 'pii';
  readonly incremental = true;
  readonly name: string;
  private readonly entities: ReadonlySet<PiiEntity>;

  constructor(private readonly options: PiiCheckOptions) {
    this.name = options.name;
    this.entities = new Set(options.entities);
  }

  run(text: string, ctx: CheckContext): CheckVerdict {
    const found = detectPii(text, {
      entities: this.entities,
      defaultRegion: this.options.defaultRegion,
      entropyThreshold: this.options.entropyThreshold,
    });
    if (found.length === 0) return { check: this.name, action: 'allow', detections: [] };
    const detections = found.map((m) => ({
      category: `pii.${m.entity}`,
      start: m.start,
      end: m.end,
      score: 1,
      reason: m.reason,
    }));
    if (this.options.action !== 'redact') {
      return { check: this.name, action: this.options.action, detections, score: 1 };
    }
    const redacted = replaceSpans(text, found, (m, original) =>
      this.options.mode === 'placeholder'
        ? ctx.vault.placeholderFor(MASK[m.entity], original)
        : `[${MASK[m.entity]}]`,
    );
    return { check: this.name, action: 'redact', detections, score: 1, text: redacted };
  }
}
