import { EndpointLimit, PREDICT_ENDPOINT_TYPE, REGISTRY_PROVIDER } from 'src/config/gateway-config.types';
import { CachePolicyInput } from 'src/modules/cache/cache-policy';

/** Where a predict endpoint's traffic goes right now: one registry version and its scoring server. */
export interface ModelServingTarget {
  version: string;
  /** Base URL of the scoring server (`<url>/invocations`, `<url>/ping`); the first of `instances`. */
  url: string;
  /**
   * Several scoring servers behind this version (the serving address lists them, comma-separated),
   * load balanced with passive ejection; only those passing /ping. Absent with a single server.
   */
  instances?: readonly string[];
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
}
