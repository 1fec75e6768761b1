import Ajv, { ValidateFunction } from 'ajv';
import { PromptException } from 'src/modules/prompts/prompt.exception';

export type OutputCheck = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * Compiles and caches JSON Schemas of published APIs (ajv, draft-07 by default). Remote `$ref`s are
 * never fetched: ajv only loads schemas it is given. Each schema gets its own Ajv instance, so two APIs
 * may use the same `$id`.
 */
export class PromptOutputValidator {
  private readonly compiled = new WeakMap<object, ValidateFunction>();

  /** Throws a 400 when the schema itself is not valid JSON Schema (checked when an API is published). */
  assertValidSchema(schema: Record<string, unknown>): void {
    try {
      newAjv().compile(schema);
    } catch (error) {
      const detail = error instanceof Error ? error.message.slice(0, 300) : 'invalid schema';
      throw PromptException.invalid(`'output_schema' is not a valid JSON Schema: ${detail}`, 'output_schema');
    }
  }

  /** Parses a model reply as JSON (tolerating a Markdown code fence) and validates it. */
  check(schema: Record<string, unknown>, text: string): OutputCheck {
    let value: unknown;
    try {
      value = JSON.parse(stripFence(text));
    } catch {
      return { ok: false, problem: 'the reply is not valid JSON' };
    }
    const validate = this.validatorFor(schema);
    if (validate(value)) return { ok: true, value };
    const first = validate.errors?.[0];
    const where = first?.instancePath || '(root)';
    return { ok: false, problem: `${where} ${first?.message ?? 'does not match the schema'}` };
  }

  private validatorFor(schema: Record<string, unknown>): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = newAjv().compile(schema);
      this.compiled.set(schema, validate);
    }
    return validate;
  }
}

function newAjv(): Ajv {
  return new Ajv({ allErrors: false, strict: false });
}

function stripFence(text: string): string {
  const match = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return match ? match[1] : text;
}
