import { ANTHROPIC_MESSAGES } from 'src/modules/pipeline/inbound/anthropic/anthropic-messages.format';
import type { InboundFormat } from 'src/modules/pipeline/inbound/inbound-format';
import type { Surface } from 'src/modules/pipeline/invocation-context';

/** The inbound formats by surface; a surface without one speaks the canonical (OpenAI) format. */
const FORMATS: Partial<Record<Surface, InboundFormat>> = {
  anthropic: ANTHROPIC_MESSAGES,
};

export function inboundFormat(surface: Surface): InboundFormat | undefined {
  return FORMATS[surface];
}
