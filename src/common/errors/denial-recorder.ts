import { FastifyRequest } from 'fastify';

/**
 * Records an admin request that a service refused with 403 (the ownership model: another team's object,
 * a setting only an admin may make) as a denial, as the permission guard records a missing permission.
 * Provided by the audit module; the exception filter calls it, so it costs nothing on the way to a
 * successful answer and needs no interceptor on every route.
 */
export interface DenialRecorder {
  recordRefusal(request: FastifyRequest): void;
}

export const DENIAL_RECORDER = Symbol('DENIAL_RECORDER');
