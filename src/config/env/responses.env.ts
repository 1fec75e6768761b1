import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Stored OpenAI Responses (src/modules/responses). */
export const responsesEnv = {
  /** How long a stored response can be retrieved or continued (OpenAI keeps them 30 days). */
  RESPONSES_RETENTION_SECONDS: int(1, 10 * 365 * 86_400).default(30 * 86_400),
  /** How often expired stored responses are deleted (0: off). */
  RESPONSES_SWEEP_INTERVAL_MS: int(0, 86_400_000).default(3_600_000),
};
