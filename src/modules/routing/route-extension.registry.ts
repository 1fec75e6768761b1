import type {
  EndpointLimit,
  GatewayFileConfig,
  ModelEndpointFileConfig,
} from 'src/config/gateway-config.types';
import type { CachePolicyInput } from 'src/modules/cache/cache-policy';
import type { EndpointLimitsConfig, LimitRule } from 'src/modules/limits/limit-rules';
import type { ModerationFileConfig } from 'src/modules/moderation/moderation-policy.schema';
import type { CompiledPolicy } from 'src/modules/moderation/moderation.types';
import type { EndpointType } from 'src/modules/providers/provider-adapter';

/**
 * The `gatehouse.<key>` sections other modules own. Routing only stores their compiled results: the
 * feature modules register a compiler per slot (cache, moderation, limits → routing), so the route
 * table never imports them at run time. Slot types are type-only imports.
 */
export interface RouteExtensionTops {
  cache: CachePolicyInput | undefined;
  moderation: ModerationFileConfig;
  limits: readonly LimitRule[];
}

/** Each slot's result for one endpoint, stored on the EndpointEntry under the slot's name. */
export interface RouteExtensionResults {
  cache: CachePolicyInput | undefined;
  moderation: CompiledPolicy | undefined;
  limits: EndpointLimitsConfig | undefined;
}

export type RouteExtensionSlot = keyof RouteExtensionTops & keyof RouteExtensionResults;

/** Compile order, which is also the order problems are reported in (tests and operators rely on it). */
export const ROUTE_EXTENSION_SLOTS: readonly RouteExtensionSlot[] = ['cache', 'moderation', 'limits'];

/** What an endpoint compiler sees of one LLM endpoint. */
export interface ExtensionEndpoint {
  name: string;
  limit: EndpointLimit | null;
  extensions: Record<string, unknown>;
}

/** A compiled endpoint or route, for checks across the whole table (references, targets). */
export interface ExtensionTarget<E> {
  name: string;
  endpointType: EndpointType;
  compiled?: E;
}

/**
 * Compiles one `gatehouse.<slot>` section when a route table is built (never per request). Problems are
 * pushed to `problems` with their location; the table is rejected when any were found.
 */
export interface RouteExtensionCompiler<K extends RouteExtensionSlot> {
  slot: K;
  /** The top-level `gatehouse.<slot>` section. */
  compileTop(config: GatewayFileConfig, problems: string[]): RouteExtensionTops[K];
  /** An LLM endpoint's own section, layered over the top-level result. */
  compileEndpoint(
    top: RouteExtensionTops[K],
    endpoint: ExtensionEndpoint,
    where: string,
    problems: string[],
  ): RouteExtensionResults[K];
  /** Checks across the whole table once every endpoint and route is compiled. */
  check?(
    top: RouteExtensionTops[K],
    endpoints: readonly ExtensionTarget<RouteExtensionResults[K]>[],
    routes: readonly ExtensionTarget<never>[],
    problems: string[],
  ): void;
  /** A declared `ml/v1/predict` endpoint's section (only slots predict endpoints support). */
  compileModel?(
    top: RouteExtensionTops[K],
    model: ModelEndpointFileConfig,
    where: string,
    problems: string[],
  ): RouteExtensionResults[K];
}

type AnyCompiler = { [K in RouteExtensionSlot]: RouteExtensionCompiler<K> }[RouteExtensionSlot];

/*
 * Registration happens at import time: each feature module's `*.route-extension.ts` calls
 * registerRouteExtension when it is first imported, and its Nest module file imports it. Module files are
 * all loaded before NestFactory creates anything, so the compilers are in place before RouteConfigService
 * builds the first table, whatever order Nest runs onModuleInit/onApplicationBootstrap in (routing's hooks
 * run before those of the modules that import it). Unit tests get the same registrations from the jest
 * setup file. A missing compiler fails the build loudly instead of silently dropping a section.
 */
const compilers = new Map<RouteExtensionSlot, AnyCompiler>();

export function registerRouteExtension<K extends RouteExtensionSlot>(
  compiler: RouteExtensionCompiler<K>,
): void {
  const existing = compilers.get(compiler.slot);
  if (existing && existing !== (compiler as unknown as AnyCompiler)) {
    throw new Error(`A route extension compiler for 'gatehouse.${compiler.slot}' is already registered.`);
  }
  compilers.set(compiler.slot, compiler as unknown as AnyCompiler);
}

export function routeExtensionCompiler<K extends RouteExtensionSlot>(slot: K): RouteExtensionCompiler<K> {
  const compiler = compilers.get(slot);
  if (!compiler) {
    throw new Error(
      `No route extension compiler for 'gatehouse.${slot}' is registered: import its module's route extension before building a route table.`,
    );
  }
  return compiler as unknown as RouteExtensionCompiler<K>;
}

/** The top-level `gatehouse.moderation` of a table built without one (an empty table, tests). */
export const NO_MODERATION: ModerationFileConfig = {
  policies: new Map(),
  defaultPolicy: undefined,
  teams: new Map(),
};
