import { GatewayException } from 'src/common/errors/gateway.exception';

/** Helpers the inbound-format decoders share: a client's body is checked field by field. */

export type Json = Record<string, unknown>;

/** A 400 in the surface's own envelope, naming the offending parameter. */
export function fail(message: string, param: string): never {
  throw GatewayException.invalid(message, param);
}

export function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** OpenAI's and Anthropic's wording for a number out of range (pydantic's). */
export const outOfRange = (key: string, min: number, max: number): string =>
  `${key}: Input should be a number between ${min} and ${max}`;

/**
 * `source[key]` as a finite number in [min, max], or undefined when absent; otherwise a 400 worded by
 * `complaint` (each API words it its own way) naming `param`.
 */
export function boundedNumber(
  source: Json,
  key: string,
  min: number,
  max: number,
  complaint: (key: string, min: number, max: number) => string,
  param: string = key,
): number | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
    fail(complaint(key, min, max), param);
  return value;
}
