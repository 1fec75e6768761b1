import { PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { GatewayException } from 'src/common/errors/gateway.exception';

/** Whitelisting validation for admin DTOs: strict schemas refuse unknown fields; every problem listed. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw GatewayException.invalid(`Invalid request: ${problems.join('; ')}`.slice(0, 2000));
  }
}

export const uuid = z.uuid();
