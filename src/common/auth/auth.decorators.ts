import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC_KEY = 'gatehouse:isPublic';
export const REQUIRED_PERMISSION_KEY = 'gatehouse:requiredPermission';

/** The only way out of default-deny authentication (health probes, API docs, signed webhooks). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The permission (`resource.action`, e.g. `inference.invoke`, `registry.sync`) a caller needs for a
 * handler. Every handler that is not `@Public()` declares one; a test walks all routes to enforce it.
 */
export const RequirePermission = (permission: string): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_PERMISSION_KEY, permission);
