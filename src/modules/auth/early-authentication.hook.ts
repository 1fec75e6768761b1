import { Injectable, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { FastifyReply, FastifyRequest } from 'fastify';
import { IS_PUBLIC_KEY } from 'src/common/auth/auth.decorators';
import { AuthenticationGuard } from 'src/modules/auth/authentication.guard';

/**
 * Authentication before the body: a request to a protected route is authenticated (missing, malformed,
 * unknown or expired credentials refused) in Fastify's onRequest hook, before its body is read or
 * parsed, so an unauthenticated caller cannot make the gateway receive or parse anything. The global
 * AuthenticationGuard then finds the principal set; it remains the one place that decides for routes
 * this hook does not know.
 */
@Injectable()
export class EarlyAuthenticationHook {
  private routes: Set<string> | undefined;

  constructor(
    private readonly modules: ModulesContainer,
    private readonly reflector: Reflector,
    private readonly guard: AuthenticationGuard,
  ) {}

  readonly onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const routes = (this.routes ??= this.protectedRoutes());
    if (!routes.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return;
    try {
      await this.guard.authenticate(request, reply);
    } catch (error) {
      // The body still on its way is never read: close after the answer rather than wait to drain it.
      if (request.headers['content-length'] !== '0' && hasBody(request))
        void reply.header('connection', 'close');
      throw error;
    }
  };

  /** `METHOD /path/:param` of every handler that is not @Public(). */
  protectedRoutes(): Set<string> {
    const routes = new Set<string>();
    const scanner = new MetadataScanner();
    for (const module of this.modules.values()) {
      for (const wrapper of module.controllers.values()) {
        if (!wrapper.metatype || !wrapper.instance) continue;
        const prototype = Object.getPrototypeOf(wrapper.instance) as Record<
          string,
          (...args: unknown[]) => unknown
        >;
        const base = String(Reflect.getMetadata(PATH_METADATA, wrapper.metatype) ?? '');
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = prototype[name];
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          if (method === undefined) continue;
          if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [handler, wrapper.metatype])) continue;
          const own = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
          const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
          routes.add(`${RequestMethod[method]} ${path}`);
        }
      }
    }
    return routes;
  }
}

function hasBody(request: FastifyRequest): boolean {
  return (
    request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined
  );
}
