import type { FastifyRequest } from 'fastify';

/** Who is calling: set on the request by the authentication guard, read by every later policy. */
export interface Principal {
  id: string;
  kind: 'user' | 'service';
  name: string;
  /** The tenant unit: usage, cache scope, conversations and policies are per team. */
  teamId: string | null;
  roles: readonly string[];
  permissions: ReadonlySet<string>;
  /** The API key used, when the caller authenticated with one (not with a JWT). */
  apiKeyId: string | null;
  /** Endpoint name patterns the API key is limited to (null: no key-level limit). */
  apiKeyEndpoints?: readonly string[] | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function principalOf(request: FastifyRequest): Principal | undefined {
  return request.principal;
}
