import { Injectable, OnApplicationBootstrap, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { HttpAdapterHost, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { IS_PUBLIC_KEY } from 'src/common/auth/auth.decorators';
import { AuthErrors } from 'src/modules/auth/auth.exception';

/**
 * A request to a protected route that carries no credential at all is refused in Fastify's onRequest
 * hook, before its body is read or parsed (bad-inputs A1). Everything else is left to the guards, which
 * remain the one place that decides.
 */
@Injectable()
export class EarlyRejectHook implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly modules: ModulesContainer,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    const protectedRoutes = this.protectedRoutes();
    fastify.addHook('onRequest', (request, _reply, done) => {
      const route = `${request.method} ${request.routeOptions.url ?? ''}`;
      const headers = request.headers;
      if (
        protectedRoutes.has(route) &&
        headers.authorization === undefined &&
        headers['x-api-key'] === undefined
      ) {
        done(AuthErrors.missingCredentials());
        return;
      }
      done();
    });
  }

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
