import {
  EndpointLimit,
  GatewayConfigError,
  GatewayFileConfig,
  ModelEndpointFileConfig,
} from 'src/config/gateway-config.types';
import { ModelEndpointEntry } from 'src/modules/routing/model-endpoint.entry';
import {
  EndpointType,
  ProviderAdapter,
  ProviderConfigError,
  TargetContext,
} from 'src/modules/providers/provider-adapter';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { CachePolicyInput, parseCachePolicyYaml } from 'src/modules/cache/cache-policy';
import {
  checkModerationReferences,
  compileEndpointModeration,
  compileModerationConfig,
  EMPTY_MODERATION,
  ModerationFileConfig,
} from 'src/modules/moderation/moderation-policy.schema';
import { CompiledPolicy } from 'src/modules/moderation/moderation.types';
import { PromptSelector } from 'src/modules/prompts/prompt.types';
import { ConversationSettings } from 'src/modules/conversations/conversation-settings.config';
import {
  BalancingAlgorithm,
  EjectionPolicy,
  HealthCheckPolicy,
  parseFallbacks,
  parseInstances,
  parseResiliencePolicy,
  parseRouteStrategy,
  ResiliencePolicy,
} from 'src/modules/routing/traffic/traffic-policy';
import { RouteStrategy } from 'src/modules/routing/traffic/route-strategy';
import { EndpointLimitsConfig, endpointLimits, parseTopLevelLimits } from 'src/modules/limits/limit-rules';

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
  cache: CachePolicyInput | undefined;
  /** The endpoint's guardrail policy (`gatehouse.moderation`, else the file's default), compiled. */
  moderation?: CompiledPolicy;
  /** `gatehouse.prompt`: the template requests to this endpoint are rendered with. */
  prompt?: PromptSelector;
  /** `gatehouse.conversation`: context-window fitting settings. */
  conversation?: ConversationSettings;
  /** `gatehouse.retry`, `circuit_breaker`, `deadline_ms`; undefined = one attempt, no breaker (fast path). */
  resilience?: ResiliencePolicy;
  /** `gatehouse.fallbacks`: endpoints tried in order when this one fails retryably. */
  fallbacks?: readonly EndpointEntry[];
  /** `gatehouse.instances`: several upstreams of this one target, load balanced. */
  instances?: EndpointInstances;
  /** Rate limits (top-level and own `gatehouse.limits`, MLflow `limit:`) and `gatehouse.pricing`. */
  limits?: EndpointLimitsConfig;
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

/** A declared `ml/v1/predict` endpoint with its cache policy parsed and layered over the top-level defaults. */
export type ModelDeclaration = Omit<ModelEndpointFileConfig, 'cache'> & { cache?: CachePolicyInput };

/** An immutable snapshot of everything a request needs to find its upstream; swapped atomically on change. */
export class RouteTable {
  private readonly byName: ReadonlyMap<string, RouteEntry>;
  private readonly modelsByName: ReadonlyMap<string, ModelEndpointEntry>;
  private readonly modelsByPath: ReadonlyMap<string, ModelEndpointEntry>;

  constructor(
    readonly endpoints: readonly EndpointEntry[],
    readonly routes: readonly TrafficRouteEntry[],
    readonly revision: string,
    /** Named guardrail policies from the top-level `gatehouse.moderation`. */
    readonly moderation: ModerationFileConfig = EMPTY_MODERATION,
    /** Registry-backed `ml/v1/predict` endpoints, resolved (see RouteTableHolder). */
    readonly models: readonly ModelEndpointEntry[] = [],
    /** The `ml/v1/predict` endpoints gateway.yaml declares, still to be resolved against the registry. */
    readonly modelDeclarations: readonly ModelDeclaration[] = [],
    /** Top-level `gatehouse.cache`: the policy of auto-exposed predict endpoints. */
    readonly cacheDefaults: CachePolicyInput | undefined = undefined,
  ) {
    const map = new Map<string, RouteEntry>();
    for (const entry of [...endpoints, ...routes]) map.set(entry.name, entry);
    this.byName = map;
    this.modelsByName = new Map(models.filter((m) => !map.has(m.name)).map((m) => [m.name, m]));
    this.modelsByPath = new Map(models.filter((m) => m.path !== undefined).map((m) => [m.path as string, m]));
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
    );
  }

  getModel(name: string): ModelEndpointEntry | undefined {
    return this.modelsByName.get(name);
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

function layerCachePolicy(
  defaults: CachePolicyInput | undefined,
  own: CachePolicyInput | undefined,
): CachePolicyInput | undefined {
  return defaults === undefined && own === undefined ? undefined : { ...defaults, ...own };
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
): RouteTable {
  const problems: string[] = [];
  const endpoints: EndpointEntry[] = [];
  const cacheDefaults = parseCachePolicyYaml(config.extensions.cache, '(top level)', problems);
  const moderation = compileModerationConfig(config.extensions.moderation, problems);
  const topLimits = parseTopLevelLimits(config.extensions, problems);
  config.endpoints.forEach((endpoint, index) => {
    const where = `endpoints[${index}] (${endpoint.name})`;
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
      timeouts: {
        headersMs: positiveInt(ext.timeout_ms, `${where}: gatehouse.timeout_ms`, problems),
        idleMs: positiveInt(
          ext.stream_idle_timeout_ms,
          `${where}: gatehouse.stream_idle_timeout_ms`,
          problems,
        ),
      },
      cache: layerCachePolicy(cacheDefaults, parseCachePolicyYaml(ext.cache, where, problems)),
      moderation: compileEndpointModeration(ext.moderation, moderation, endpoint.name, where, problems),
      prompt: endpoint.prompt,
      conversation: endpoint.conversation,
      ...(resilience ? { resilience } : {}),
      ...(instances ? { instances } : {}),
      limits: endpointLimits(topLimits, endpoint.name, endpoint.limit, ext, where, problems),
    });
  });
  const endpointByName = new Map(endpoints.map((e) => [e.name, e]));
  for (const file of config.endpoints) {
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
  problems.push(
    ...checkModerationReferences(
      moderation,
      endpoints.map((e) => e.moderation),
      new Map([...endpoints, ...routes].map((e) => [e.name, e.endpointType])),
    ),
  );
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
  const modelDeclarations = (config.modelEndpoints ?? []).map(({ cache, ...model }) => ({
    ...model,
    cache: layerCachePolicy(
      cacheDefaults,
      parseCachePolicyYaml(cache, `endpoints (${model.name})`, problems),
    ),
  }));
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return new RouteTable(endpoints, routes, revision, moderation, [], modelDeclarations, cacheDefaults);
}
