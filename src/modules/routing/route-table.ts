import {
  EndpointLimit,
  GatewayConfigError,
  GatewayFileConfig,
  ModelEndpointFileConfig,
  PREDICT_ENDPOINT_TYPE,
} from 'src/config/gateway-config.types';
import {
  ModelEndpointEntry,
  PredictEntry,
  PredictRouteEntry,
} from 'src/modules/routing/model-endpoint.entry';
import {
  EndpointType,
  ProviderAdapter,
  ProviderConfigError,
  TargetContext,
} from 'src/modules/providers/provider-adapter';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import type { CachePolicyInput } from 'src/modules/cache/cache-policy';
import type { ModerationFileConfig } from 'src/modules/moderation/moderation-policy.schema';
import type { PromptSelector } from 'src/modules/prompts/prompt.types';
import type { LimitRule } from 'src/modules/limits/limit-rules';
import { ConversationSettings } from 'src/config/extensions/conversation-settings.config';
import type { RagSettings } from 'src/config/extensions/rag-settings.config';
import {
  NO_MODERATION,
  ROUTE_EXTENSION_SLOTS,
  routeExtensionCompiler,
  RouteExtensionResults,
  RouteExtensionSlot,
  RouteExtensionTops,
} from 'src/modules/routing/route-extension.registry';
import {
  BalancingAlgorithm,
  BalancingConfig,
  EjectionPolicy,
  HealthCheckPolicy,
  parseBalancing,
  parseFallbacks,
  parseInstances,
  parseResiliencePolicy,
  parseRouteStrategy,
  ResiliencePolicy,
  RuleCondition,
  StickyKey,
} from 'src/modules/routing/traffic/traffic-policy';
import { RouteStrategy } from 'src/modules/routing/traffic/route-strategy';

export interface EndpointTimeouts {
  /** Time allowed until the upstream's response headers arrive. */
  headersMs: number | undefined;
  /** Longest silence allowed between body chunks (streams included). */
  idleMs: number | undefined;
}

export interface EndpointEntry {
  kind: 'endpoint';
  name: string;
  endpointType: EndpointType;
  provider: string;
  modelName: string | undefined;
  limit: EndpointLimit | null;
  adapter: ProviderAdapter;
  target: TargetContext;
  timeouts: EndpointTimeouts;
  /** Response cache settings from YAML (top-level `gatehouse.cache` under the endpoint's own); undefined = none. */
  cache: RouteExtensionResults['cache'];
  /** The endpoint's guardrail policy (`gatehouse.moderation`, else the file's default), compiled. */
  moderation?: RouteExtensionResults['moderation'];
  /** `gatehouse.prompt`: the template requests to this endpoint are rendered with. */
  prompt?: PromptSelector;
  /** `gatehouse.conversation`: context-window fitting settings. */
  conversation?: ConversationSettings;
  /**
   * `gatehouse.rag`: a RAG endpoint. Its entry is its LLM endpoint's (adapter, target, resilience) under
   * its own name, cache, guardrails and limits; the RAG stage retrieves and renders before the call.
   */
  rag?: RagSettings;
  /** `gatehouse.retry`, `circuit_breaker`, `deadline_ms`; undefined = one attempt, no breaker (fast path). */
  resilience?: ResiliencePolicy;
  /** `gatehouse.fallbacks`: endpoints tried in order when this one fails retryably. */
  fallbacks?: readonly EndpointEntry[];
  /** `gatehouse.instances`: several upstreams of this one target, load balanced. */
  instances?: EndpointInstances;
  /** Rate limits (top-level and own `gatehouse.limits`, MLflow `limit:`) and `gatehouse.pricing`. */
  limits?: RouteExtensionResults['limits'];
  /**
   * Created through the admin API: its upstream connections go only to UPSTREAM_ALLOWED_HOSTS, checked
   * on every connection after DNS resolution. Endpoints of the host operator's gateway.yaml are trusted.
   */
  restrictedEgress?: boolean;
}

/** One upstream of a multi-instance endpoint: its own parsed provider config (e.g. another api_base). */
export interface EndpointInstance {
  /** `endpoint#name`: the target label (x-gatehouse-target) and the key of its breaker and balancer state. */
  key: string;
  name: string;
  weight: number;
  target: TargetContext;
  /** Where active health checks go (the instance's origin + path); undefined without a base URL. */
  healthUrl: string | undefined;
}

export interface EndpointInstances {
  list: readonly EndpointInstance[];
  algorithm: BalancingAlgorithm;
  ejection: EjectionPolicy;
  healthCheck: HealthCheckPolicy | undefined;
}

export interface TrafficRouteEntry {
  kind: 'route';
  name: string;
  endpointType: EndpointType;
  /** Destinations with cumulative percentages (0–100], for one random draw per request. */
  destinations: { endpoint: EndpointEntry; upTo: number; percentage: number }[];
  /** `gatehouse.sticky` / `gatehouse.rules`; undefined = MLflow's weighted random split. */
  strategy?: RouteStrategy;
  /** `gatehouse.fallbacks`: endpoints tried, in order, after the chosen destination (and its own fallbacks). */
  fallbacks?: readonly EndpointEntry[];
}

export type RouteEntry = EndpointEntry | TrafficRouteEntry;

/**
 * A declared `ml/v1/predict` endpoint with its cache policy parsed and layered over the top-level
 * defaults, and its traffic keys parsed (fallbacks by name: they are resolved with the endpoints).
 */
export type ModelDeclaration = Omit<ModelEndpointFileConfig, 'cache' | 'traffic'> & {
  cache?: CachePolicyInput;
  balancing?: BalancingConfig;
  resilience?: ResiliencePolicy;
  fallbacks?: readonly string[];
  /** Created through the admin API: its serving_url_template is reached through the allow-listed pool. */
  restrictedEgress?: boolean;
};

/** A validated `ml/v1/predict` route, by endpoint names; resolved against the predict entries on composition. */
export interface PredictRouteDeclaration {
  name: string;
  destinations: readonly { name: string; percentage: number }[];
  sticky: StickyKey | undefined;
  rules: readonly { when: RuleCondition; destination: string }[];
  fallbacks: readonly string[];
}

/** The `gatehouse:` balancing of a predict endpoint that sets none (round robin, ejection after 3 failures). */
export const DEFAULT_PREDICT_BALANCING: BalancingConfig = {
  algorithm: 'round_robin',
  ejection: { consecutiveFailures: 3, baseMs: 30_000, maxMs: 300_000 },
  healthCheck: undefined,
};

/** An immutable snapshot of everything a request needs to find its upstream; swapped atomically on change. */
export class RouteTable {
  private readonly byName: ReadonlyMap<string, RouteEntry>;
  private readonly modelsByName: ReadonlyMap<string, ModelEndpointEntry>;
  private readonly modelsByPath: ReadonlyMap<string, ModelEndpointEntry>;
  private readonly predictRoutesByName: ReadonlyMap<string, PredictRouteEntry>;
  /** `ml/v1/predict` routes resolved against `models` (a route whose destinations are all missing is left out). */
  readonly predictRoutes: readonly PredictRouteEntry[];

  constructor(
    readonly endpoints: readonly EndpointEntry[],
    readonly routes: readonly TrafficRouteEntry[],
    readonly revision: string,
    /** Named guardrail policies from the top-level `gatehouse.moderation`. */
    readonly moderation: ModerationFileConfig = NO_MODERATION,
    /** Registry-backed `ml/v1/predict` endpoints, resolved (see RouteTableHolder). */
    readonly models: readonly ModelEndpointEntry[] = [],
    /** The `ml/v1/predict` endpoints gateway.yaml declares, still to be resolved against the registry. */
    readonly modelDeclarations: readonly ModelDeclaration[] = [],
    /** Top-level `gatehouse.cache`: the policy of auto-exposed predict endpoints. */
    readonly cacheDefaults: CachePolicyInput | undefined = undefined,
    /** The `ml/v1/predict` routes gateway.yaml (and the admin API) declare. */
    readonly predictRouteDeclarations: readonly PredictRouteDeclaration[] = [],
    /** Top-level `gatehouse.limits` (also folded into each endpoint's rules): for routes without an endpoint. */
    readonly topLimits: readonly LimitRule[] = [],
  ) {
    const map = new Map<string, RouteEntry>();
    for (const entry of [...endpoints, ...routes]) map.set(entry.name, entry);
    this.byName = map;
    this.modelsByName = new Map(models.filter((m) => !map.has(m.name)).map((m) => [m.name, m]));
    this.modelsByPath = new Map(models.filter((m) => m.path !== undefined).map((m) => [m.path as string, m]));
    const declared = new Map(models.filter((m) => m.origin === 'config').map((m) => [m.name, m]));
    this.predictRoutes = predictRouteDeclarations
      .map((declaration) => resolvePredictRoute(declaration, declared))
      .filter((route): route is PredictRouteEntry => route !== undefined);
    this.predictRoutesByName = new Map(this.predictRoutes.map((r) => [r.name, r]));
  }

  /** The same table with its predict endpoints replaced (a new immutable snapshot). */
  withModels(models: readonly ModelEndpointEntry[]): RouteTable {
    return new RouteTable(
      this.endpoints,
      this.routes,
      this.revision,
      this.moderation,
      models,
      this.modelDeclarations,
      this.cacheDefaults,
      this.predictRouteDeclarations,
      this.topLimits,
    );
  }

  getModel(name: string): ModelEndpointEntry | undefined {
    return this.modelsByName.get(name);
  }

  /** A predict endpoint or a predict route by name (what `/endpoints/{name}/invocations` scores on). */
  getPredict(name: string): PredictEntry | undefined {
    return this.modelsByName.get(name) ?? this.predictRoutesByName.get(name);
  }

  getModelByPath(path: string): ModelEndpointEntry | undefined {
    return this.modelsByPath.get(path);
  }

  static empty(): RouteTable {
    return new RouteTable([], [], 'empty');
  }

  get(name: string): RouteEntry | undefined {
    return this.byName.get(name);
  }

  /** Resolves a traffic route to one of its endpoints (weighted random), or returns the endpoint itself. */
  static pick(entry: RouteEntry, random: () => number = Math.random): EndpointEntry {
    if (entry.kind === 'endpoint') return entry;
    const draw = random() * 100;
    for (const destination of entry.destinations) {
      if (draw < destination.upTo) return destination.endpoint;
    }
    return entry.destinations[entry.destinations.length - 1].endpoint;
  }
}

/** A predict route's destinations, rules and fallbacks as the current predict entries. */
function resolvePredictRoute(
  declaration: PredictRouteDeclaration,
  models: ReadonlyMap<string, ModelEndpointEntry>,
): PredictRouteEntry | undefined {
  let upTo = 0;
  const destinations: PredictRouteEntry['destinations'] = [];
  for (const { name, percentage } of declaration.destinations) {
    const endpoint = models.get(name);
    upTo += percentage;
    if (endpoint && percentage > 0) destinations.push({ endpoint, upTo, percentage });
  }
  if (destinations.length === 0) return undefined;
  const route: PredictRouteEntry = {
    kind: 'route',
    name: declaration.name,
    endpointType: PREDICT_ENDPOINT_TYPE,
    destinations,
  };
  const rules = declaration.rules.flatMap((rule) => {
    const endpoint = models.get(rule.destination);
    return endpoint ? [{ when: rule.when, endpoint }] : [];
  });
  if (declaration.sticky || rules.length > 0) route.strategy = { sticky: declaration.sticky, rules };
  const fallbacks = declaration.fallbacks.flatMap((name) => models.get(name) ?? []);
  if (fallbacks.length > 0) route.fallbacks = fallbacks;
  return route;
}

/** Predict endpoint names → problems with a list of them (fallbacks, rule destinations). */
function checkPredictNames(
  names: readonly string[],
  self: string | undefined,
  declared: ReadonlySet<string>,
  key: string,
  where: string,
  problems: string[],
): string[] {
  const seen: string[] = [];
  for (const name of names) {
    if (!declared.has(name)) {
      problems.push(`${where}: gatehouse.${key} names '${name}', which is not an ml/v1/predict endpoint.`);
    } else if (name === self || seen.includes(name)) {
      problems.push(`${where}: gatehouse.${key} lists '${name}' twice or names itself.`);
    } else {
      seen.push(name);
    }
  }
  return seen;
}

/** `gatehouse:` traffic keys of the declared predict endpoints, parsed by the LLM endpoints' parsers. */
function buildModelDeclarations(
  config: GatewayFileConfig,
  cacheDefaults: CachePolicyInput | undefined,
  problems: string[],
  apiNames: ReadonlySet<string>,
): ModelDeclaration[] {
  const models = config.modelEndpoints ?? [];
  const declared = new Set(models.map((m) => m.name));
  const cache = routeExtensionCompiler('cache');
  return models.map((file) => {
    const { traffic, ...model } = file; // `cache` is replaced by its compiled policy below
    const where = `endpoints (${model.name})`;
    const declaration: ModelDeclaration = {
      ...model,
      cache: cache.compileModel?.(cacheDefaults, file, where, problems),
      ...(apiNames.has(model.name) ? { restrictedEgress: true } : {}),
    };
    if (!traffic) return declaration;
    declaration.balancing = parseBalancing(traffic, where, problems, '/ping');
    const resilience = parseResiliencePolicy(traffic, where, problems);
    if (resilience) declaration.resilience = resilience;
    const fallbacks = checkPredictNames(
      parseFallbacks(traffic, where, problems),
      model.name,
      declared,
      'fallbacks',
      where,
      problems,
    );
    if (fallbacks.length > 0) declaration.fallbacks = fallbacks;
    return declaration;
  });
}

/**
 * `ml/v1/predict` routes: MLflow's split with the LLM routes' strategies. A scoring request has no
 * `user` or `metadata` field and no prompt, so sticky keys and rules use who calls, headers and body fields.
 */
function buildPredictRoutes(config: GatewayFileConfig, problems: string[]): PredictRouteDeclaration[] {
  const declared = new Set((config.modelEndpoints ?? []).map((m) => m.name));
  return (config.predictRoutes ?? []).map((route) => {
    const where = `routes (${route.name})`;
    const parsed = parseRouteStrategy(route.extensions ?? {}, where, problems);
    let sticky = parsed.sticky;
    if (sticky?.kind === 'user' || sticky?.kind === 'metadata') {
      problems.push(
        `${where}: gatehouse.sticky '${sticky.kind}' does not apply to an ml/v1/predict route (scoring requests have no '${sticky.kind}' field): use principal, team or header:<name>.`,
      );
      sticky = undefined;
    }
    const rules = parsed.rules.flatMap((rule, index) => {
      const at = `${where}: gatehouse.rules[${index}]`;
      if (
        rule.when.metadata.length > 0 ||
        rule.when.minPromptTokens !== undefined ||
        rule.when.maxPromptTokens !== undefined
      ) {
        problems.push(
          `${at}.when: 'metadata' and 'prompt_tokens' do not apply to an ml/v1/predict route: match 'headers' or body 'fields'.`,
        );
        return [];
      }
      if (!declared.has(rule.destination)) {
        problems.push(`${at}.destination '${rule.destination}' is not an ml/v1/predict endpoint.`);
        return [];
      }
      return [{ when: rule.when, destination: rule.destination }];
    });
    const fallbacks = checkPredictNames(parsed.fallbacks, undefined, declared, 'fallbacks', where, problems);
    return {
      name: route.name,
      destinations: route.destinations.map((d) => ({ name: d.name, percentage: d.trafficPercentage })),
      sticky,
      rules,
      fallbacks,
    };
  });
}

function compileTop<K extends RouteExtensionSlot>(
  slot: K,
  config: GatewayFileConfig,
  into: Partial<RouteExtensionTops>,
  problems: string[],
): void {
  into[slot] = routeExtensionCompiler(slot).compileTop(config, problems);
}

/** Every registered extension's top-level section, in slot order (the order problems are reported in). */
function compileExtensionTops(config: GatewayFileConfig, problems: string[]): RouteExtensionTops {
  const tops: Partial<RouteExtensionTops> = {};
  for (const slot of ROUTE_EXTENSION_SLOTS) compileTop(slot, config, tops, problems);
  return tops as RouteExtensionTops;
}

function compileEndpointSlot<K extends RouteExtensionSlot>(
  slot: K,
  tops: RouteExtensionTops,
  endpoint: GatewayFileConfig['endpoints'][number],
  where: string,
  into: Partial<RouteExtensionResults>,
  problems: string[],
): void {
  const { name, limit, extensions } = endpoint;
  into[slot] = routeExtensionCompiler(slot).compileEndpoint(
    tops[slot],
    { name, limit, extensions },
    where,
    problems,
  );
}

/** Every registered extension's section of one LLM endpoint, layered over its top-level result. */
function compileEndpointExtensions(
  tops: RouteExtensionTops,
  endpoint: GatewayFileConfig['endpoints'][number],
  where: string,
  problems: string[],
): RouteExtensionResults {
  const results: Partial<RouteExtensionResults> = {};
  for (const slot of ROUTE_EXTENSION_SLOTS)
    compileEndpointSlot(slot, tops, endpoint, where, results, problems);
  return results as RouteExtensionResults;
}

function checkSlot<K extends RouteExtensionSlot>(
  slot: K,
  tops: RouteExtensionTops,
  endpoints: readonly EndpointEntry[],
  routes: readonly TrafficRouteEntry[],
  problems: string[],
): void {
  const compiler = routeExtensionCompiler(slot);
  if (!compiler.check) return;
  compiler.check(
    tops[slot],
    endpoints.map((e) => ({
      name: e.name,
      endpointType: e.endpointType,
      compiled: (e as EndpointEntry & RouteExtensionResults)[slot],
    })),
    routes.map((r) => ({ name: r.name, endpointType: r.endpointType })),
    problems,
  );
}

function positiveInt(value: unknown, where: string, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    problems.push(`${where} must be a positive integer (milliseconds).`);
    return undefined;
  }
  return value;
}

/** Endpoint names → entries of the same type, in order, without the entry itself or repeats. */
function resolveFallbacks(
  names: readonly string[],
  self: { name: string; endpointType: EndpointType },
  endpoints: ReadonlyMap<string, EndpointEntry>,
  where: string,
  problems: string[],
): EndpointEntry[] {
  const chain: EndpointEntry[] = [];
  for (const name of names) {
    const target = endpoints.get(name);
    if (!target) {
      problems.push(`${where}: gatehouse.fallbacks names '${name}', which is not an endpoint.`);
    } else if (target.endpointType !== self.endpointType) {
      problems.push(
        `${where}: gatehouse.fallbacks endpoint '${name}' is not a ${self.endpointType} endpoint.`,
      );
    } else if (name === self.name || chain.includes(target)) {
      problems.push(`${where}: gatehouse.fallbacks lists '${name}' twice or names itself.`);
    } else {
      chain.push(target);
    }
  }
  return chain;
}

/** `gatehouse.instances` of an LLM endpoint: each instance's config merged over `model.config` and parsed. */
function buildInstances(
  endpoint: GatewayFileConfig['endpoints'][number],
  adapter: ProviderAdapter,
  where: string,
  problems: string[],
): EndpointInstances | undefined {
  const parsed = parseInstances(endpoint.extensions, where, problems, '/');
  if (!parsed) return undefined;
  const list: EndpointInstance[] = [];
  for (const instance of parsed.instances) {
    const merged = { ...endpoint.model.config, ...instance.config };
    try {
      const config = adapter.parseConfig(merged, endpoint.model.provider, endpoint.model.name);
      const base = Object.entries(instance.config).find(
        ([key]) => key.endsWith('api_base') || key === 'url',
      )?.[1];
      let healthUrl: string | undefined;
      if (typeof base === 'string' && parsed.healthCheck) {
        try {
          healthUrl = new URL(parsed.healthCheck.path, base).toString();
        } catch {
          problems.push(`${where}: gatehouse.instances (${instance.name}) has an invalid base URL.`);
        }
      }
      list.push({
        key: `${endpoint.name}#${instance.name}`,
        name: instance.name,
        weight: instance.weight,
        target: {
          endpointName: endpoint.name,
          endpointType: endpoint.endpointType,
          modelName: endpoint.model.name,
          config,
        },
        healthUrl,
      });
    } catch (error) {
      if (!(error instanceof ProviderConfigError)) throw error;
      problems.push(`${where}: gatehouse.instances (${instance.name}): ${error.message}`);
    }
  }
  return { list, algorithm: parsed.algorithm, ejection: parsed.ejection, healthCheck: parsed.healthCheck };
}

/** Builds a RouteTable from a validated file config; provider config problems are collected, not thrown one by one. */
export function buildRouteTable(
  config: GatewayFileConfig,
  registry: ProviderRegistry,
  revision: string,
  /** Names of the entries created through the admin API (restricted egress). */
  apiNames: ReadonlySet<string> = new Set(),
): RouteTable {
  const problems: string[] = [];
  const endpoints: EndpointEntry[] = [];
  const tops = compileExtensionTops(config, problems);
  config.endpoints.forEach((endpoint, index) => {
    const where = `endpoints[${index}] (${endpoint.name})`;
    if (endpoint.rag) return; // composed over its LLM endpoint below
    const adapter = registry.get(endpoint.model.provider);
    if (!adapter) {
      problems.push(`${where}: The provider '${endpoint.model.rawProvider}' is not supported.`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = adapter.parseConfig(endpoint.model.config, endpoint.model.provider, endpoint.model.name);
    } catch (error) {
      if (!(error instanceof ProviderConfigError)) throw error;
      problems.push(`${where}: ${error.message}`);
      return;
    }
    const ext = endpoint.extensions;
    const instances = buildInstances(endpoint, adapter, where, problems);
    const resilience = parseResiliencePolicy(ext, where, problems);
    const timeouts: EndpointTimeouts = {
      headersMs: positiveInt(ext.timeout_ms, `${where}: gatehouse.timeout_ms`, problems),
      idleMs: positiveInt(ext.stream_idle_timeout_ms, `${where}: gatehouse.stream_idle_timeout_ms`, problems),
    };
    const extensions = compileEndpointExtensions(tops, endpoint, where, problems);
    endpoints.push({
      kind: 'endpoint',
      name: endpoint.name,
      endpointType: endpoint.endpointType,
      provider: endpoint.model.provider,
      modelName: endpoint.model.name,
      limit: endpoint.limit,
      adapter,
      target: {
        endpointName: endpoint.name,
        endpointType: endpoint.endpointType,
        modelName: endpoint.model.name,
        config: parsed,
      },
      timeouts,
      ...extensions,
      prompt: endpoint.prompt,
      conversation: endpoint.conversation,
      ...(resilience ? { resilience } : {}),
      ...(instances ? { instances } : {}),
      ...(apiNames.has(endpoint.name) ? { restrictedEgress: true } : {}),
    });
  });
  const endpointByName = new Map(endpoints.map((e) => [e.name, e]));
  config.endpoints.forEach((endpoint, index) => {
    if (!endpoint.rag) return;
    const where = `endpoints[${index}] (${endpoint.name})`;
    const llm = endpointByName.get(endpoint.rag.llmEndpoint);
    if (!llm || llm.endpointType !== 'llm/v1/chat' || llm.rag) {
      problems.push(
        `${where}: gatehouse.rag.llm_endpoint '${endpoint.rag.llmEndpoint}' is not a chat endpoint.`,
      );
      return;
    }
    const extensions = compileEndpointExtensions(tops, endpoint, where, problems);
    const entry: EndpointEntry = {
      ...llm,
      name: endpoint.name,
      limit: endpoint.limit,
      ...extensions,
      prompt: undefined,
      conversation: undefined,
      rag: endpoint.rag,
    };
    endpoints.push(entry);
    endpointByName.set(entry.name, entry);
  });
  for (const file of config.endpoints) {
    if (file.rag) continue;
    const entry = endpointByName.get(file.name);
    if (!entry) continue;
    const where = `endpoints (${file.name})`;
    const chain = resolveFallbacks(
      parseFallbacks(file.extensions, where, problems),
      entry,
      endpointByName,
      where,
      problems,
    );
    if (chain.length > 0) entry.fallbacks = chain;
  }
  const routes: TrafficRouteEntry[] = [];
  for (const route of config.routes) {
    let upTo = 0;
    const destinations: TrafficRouteEntry['destinations'] = [];
    for (const destination of route.destinations) {
      const endpoint = endpointByName.get(destination.name);
      if (!endpoint) continue; // its endpoint already reported a problem
      upTo += destination.trafficPercentage;
      if (destination.trafficPercentage > 0) {
        destinations.push({ endpoint, upTo, percentage: destination.trafficPercentage });
      }
    }
    if (destinations.length > 0) {
      const where = `routes (${route.name})`;
      const ext = route.extensions ?? {};
      const parsed = parseRouteStrategy(ext, where, problems);
      const entry: TrafficRouteEntry = {
        kind: 'route',
        name: route.name,
        endpointType: route.taskType,
        destinations,
      };
      const rules = parsed.rules.flatMap((rule, index) => {
        const target = endpointByName.get(rule.destination);
        if (!target || target.endpointType !== route.taskType) {
          problems.push(
            `${where}: gatehouse.rules[${index}].destination '${rule.destination}' is not a ${route.taskType} endpoint.`,
          );
          return [];
        }
        return [{ when: rule.when, endpoint: target }];
      });
      if (parsed.sticky || rules.length > 0) entry.strategy = { sticky: parsed.sticky, rules };
      const fallbacks = resolveFallbacks(parsed.fallbacks, entry, endpointByName, where, problems);
      if (fallbacks.length > 0) entry.fallbacks = fallbacks;
      routes.push(entry);
    }
  }
  for (const slot of ROUTE_EXTENSION_SLOTS) checkSlot(slot, tops, endpoints, routes, problems);
  const chatNames = new Set(
    [...endpoints, ...routes].filter((e) => e.endpointType === 'llm/v1/chat').map((e) => e.name),
  );
  for (const endpoint of endpoints) {
    const summarizer = endpoint.conversation?.summarizerEndpoint;
    if (summarizer && !chatNames.has(summarizer)) {
      problems.push(
        `endpoints (${endpoint.name}): gatehouse.conversation.summarizer_endpoint '${summarizer}' is not a chat endpoint or route.`,
      );
    }
  }
  const modelDeclarations = buildModelDeclarations(config, tops.cache, problems, apiNames);
  const predictRoutes = buildPredictRoutes(config, problems);
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return new RouteTable(
    endpoints,
    routes,
    revision,
    tops.moderation,
    [],
    modelDeclarations,
    tops.cache,
    predictRoutes,
    tops.limits,
  );
}
