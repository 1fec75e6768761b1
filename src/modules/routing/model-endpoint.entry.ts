import type { ScoringBatchSettings } from 'src/config/extensions/scoring-batch.config';
import { EndpointLimit, PREDICT_ENDPOINT_TYPE, REGISTRY_PROVIDER } from 'src/config/gateway-config.types';
import type { CachePolicyInput } from 'src/modules/cache/cache-policy';
import type { ChainInstances } from 'src/modules/routing/traffic/attempt-chain';
import type { RouteStrategy } from 'src/modules/routing/traffic/route-strategy';
import type { BalancingConfig, ResiliencePolicy } from 'src/modules/routing/traffic/traffic-policy';

/** One scoring server of a model version, as the balancer sees it. */
export interface ServingInstance {
  /** `endpoint@version#n`, n = its position in the serving address: the x-gatehouse-target label and state key. */
  key: string;
  url: string;
  /** `#weight=N` on its address (default 1), for `load_balancing: weighted`. */
  weight: number;
}

/** Where a predict endpoint's traffic goes right now: one registry version and its scoring server. */
export interface ModelServingTarget {
  version: string;
  /** Base URL of the scoring server (`<url>/invocations`, `<url>/ping`); the first of `instances`. */
  url: string;
  /**
   * Several scoring servers behind this version (the serving address lists them, comma-separated),
   * load balanced with passive ejection; only those passing their health check (possibly one). Absent when
   * the address lists a single server.
   */
  instances?: readonly ServingInstance[];
  /**
   * The address is not the host operator's: a registry tag (when REGISTRY_SERVING_HOSTS does not list
   * the hosts) or the serving_url_template of an admin-API endpoint. Calls and probes then go through the
   * allow-listed pool (UPSTREAM_ALLOWED_HOSTS, checked on every connection).
   */
  restricted?: boolean;
}

/**
 * An `ml/v1/predict` endpoint resolved against the registry snapshot and the serving health view.
 * Built off the request path (on sync, health change or config reload) and swapped in with the table.
 */
export interface ModelEndpointEntry {
  kind: 'model';
  name: string;
  endpointType: typeof PREDICT_ENDPOINT_TYPE;
  provider: typeof REGISTRY_PROVIDER;
  /** `models:/…` as configured (auto-exposed endpoints: the reference they follow). */
  modelUri: string;
  registeredModel: string;
  /** `config` = declared in gateway.yaml; `auto` = exposed by the registry tag filter. */
  origin: 'config' | 'auto';
  limit: EndpointLimit | null;
  /** Extra public path under /predict/, if any. */
  path: string | undefined;
  timeoutMs: number;
  /** The version to call, or undefined when nothing is routable (see `unavailable`). */
  target: ModelServingTarget | undefined;
  /** Why the endpoint answers 503 now (no such alias, no serving URL, failed health check). */
  unavailable: string | undefined;
  /** Response cache settings (own `gatehouse.cache` over the top-level one); undefined = none. */
  cache?: CachePolicyInput;
  /**
   * Key of this target's breaker, retry budget and balancer: `name@version` (an alias move starts the
   * new version afresh), or the name while nothing is routable.
   */
  key: string;
  /** `gatehouse.load_balancing`, `ejection`, `health_check` (defaults when not set). */
  balancing: BalancingConfig;
  /** `gatehouse.retry`, `circuit_breaker`, `deadline_ms`; with several scoring servers and no `retry`, 3 attempts. */
  resilience?: ResiliencePolicy;
  /** The version's scoring servers when it has several, with the endpoint's balancing. */
  instances?: ChainInstances<ServingInstance>;
  /** `gatehouse.fallbacks`: predict endpoints tried in order when this one fails retryably. */
  fallbacks?: readonly ModelEndpointEntry[];
  /** `gatehouse.batch`: scoring requests with more rows are split into chunks (see scoring-fanout). */
  batch?: ScoringBatchSettings;
}

/**
 * A `routes[]` entry with `task_type: ml/v1/predict`: a traffic split over predict endpoints (e.g. two
 * registry versions), resolved with them on every composition so it always points at current entries.
 */
export interface PredictRouteEntry {
  kind: 'route';
  name: string;
  endpointType: typeof PREDICT_ENDPOINT_TYPE;
  /** Destinations with cumulative percentages (0–100], as LLM routes. */
  destinations: { endpoint: ModelEndpointEntry; upTo: number; percentage: number }[];
  /** `gatehouse.sticky` / `gatehouse.rules`; undefined = weighted random. */
  strategy?: RouteStrategy<ModelEndpointEntry>;
  /** `gatehouse.fallbacks`: predict endpoints tried after the chosen destination (and its own fallbacks). */
  fallbacks?: readonly ModelEndpointEntry[];
}

export type PredictEntry = ModelEndpointEntry | PredictRouteEntry;
