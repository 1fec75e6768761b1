import { ANTHROPIC_MESSAGES } from 'src/modules/pipeline/inbound/anthropic/anthropic-messages.format';
import { GEMINI_GENERATE_CONTENT } from 'src/modules/pipeline/inbound/gemini/gemini-generate-content.format';
import type { InboundFormat } from 'src/modules/pipeline/inbound/inbound-format';
import { OPENAI_RESPONSES } from 'src/modules/pipeline/inbound/responses/openai-responses.format';
import type { Surface } from 'src/modules/pipeline/invocation-context';

/** The inbound formats by surface; a surface without one speaks the canonical (OpenAI) format. */
const FORMATS: Partial<Record<Surface, InboundFormat>> = {
  anthropic: ANTHROPIC_MESSAGES,
  gemini: GEMINI_GENERATE_CONTENT,
  responses: OPENAI_RESPONSES,
};

export function inboundFormat(surface: Surface): InboundFormat | undefined {
  return FORMATS[surface];
}
