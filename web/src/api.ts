import createClient from 'openapi-fetch';
import type { components, paths } from './api/schema';

export type { components, paths };

const STORAGE_KEY = 'gatehouse.apiKey';

/**
 * The credential of this tab — an API key or an access token from the identity provider, both sent as
 * a bearer token (sessionStorage: gone when the tab closes, never shared with other tabs).
 */
let credential: string | null = sessionStorage.getItem(STORAGE_KEY);
const expiredListeners = new Set<() => void>();

export function setCredential(key: string | null): void {
  credential = key;
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function hasCredential(): boolean {
  return credential !== null;
}

/** Called when the API stops accepting this tab's credential (an expired token, a revoked key). */
export function onCredentialRejected(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

/** The one client of the admin API, typed from the gateway's OpenAPI document (web/src/api/schema.d.ts). */
export const api = createClient<paths>({ baseUrl: '' });
api.use({
  onRequest({ request }) {
    if (credential) request.headers.set('authorization', `Bearer ${credential}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && credential && request.headers.has('authorization')) {
      setCredential(null);
      for (const listener of expiredListeners) listener();
    }
    return response;
  },
});

/** An answer of the admin API that is not a success, with the gateway's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The data of a successful call, or an ApiError with the gateway's message (admin or OpenAI envelope). */
export function must<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  throw new ApiError(result.response.status, messageOf(result.error, result.response.status));
}

function messageOf(error: unknown, status: number): string {
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; error?: { message?: unknown } };
    if (typeof e.message === 'string') return e.message;
    if (e.error && typeof e.error.message === 'string') return e.error.message;
  }
  return `Request failed (${status})`;
}

/** The JSON body of a path's successful answer, as the OpenAPI document declares it. */
export type Body<
  P extends keyof paths,
  M extends 'get' | 'post' | 'put',
  C extends number = 200,
> = paths[P][M] extends { responses: infer R }
  ? R extends Record<C, { content: { 'application/json': infer J } }>
    ? J
    : never
  : never;

export type Me = Body<'/admin/v1/me', 'get'>;
export type ConsoleSettings = Body<'/admin/v1/console/config', 'get'>;
export type Product = Body<'/admin/v1/catalogue', 'get'>[number];
export type Subscription = Body<'/admin/v1/subscriptions', 'get'>[number];
export type SeriesPoint = Body<'/admin/v1/usage/timeseries', 'get'>['points'][number];
export type EndpointEntry = Body<'/admin/v1/endpoints', 'get'>[number];
