import type { EndpointType } from 'src/modules/providers/provider-adapter';
import { PromptSelector } from 'src/config/extensions/prompt-binding.config';
import { ConversationSettings } from 'src/config/extensions/conversation-settings.config';
import { RagSettings } from 'src/config/extensions/rag-settings.config';
import { ScoringBatchSettings } from 'src/config/extensions/scoring-batch.config';

/** An endpoint's `limit:` block, as MLflow's legacy YAML server reads it (calls per renewal period). */
export interface EndpointLimit {
  calls: number;
  renewal_period: string;
  key: string | null;
}

export interface EndpointFileConfig {
  name: string;
  endpointType: EndpointType;
  model: {
    /** Normalised provider id: lower-case, `_` → `-` (e.g. `mlflow_model_serving` → `mlflow-model-serving`). */
    provider: string;
    /** The provider exactly as written in the file. */
    rawProvider: string;
    name: string | undefined;
    /** Provider config with every api-key field resolved (`$VAR`, key file or literal). */
    config: Record<string, unknown>;
  };
  limit: EndpointLimit | null;
  /** The endpoint's optional `gatehouse:` mapping (Gatehouse extensions; MLflow ignores it); `{}` if absent. */
  extensions: Record<string, unknown>;
  /** `gatehouse.prompt`: the template this endpoint wraps requests in. */
  prompt?: PromptSelector;
  /** `gatehouse.conversation`: context-window fitting for conversations on this endpoint. */
  conversation?: ConversationSettings;
  /** `gatehouse.rag`: a RAG endpoint (knowledge base, template, LLM endpoint); see RagSettings. */
  rag?: RagSettings;
}

export interface TrafficRouteFileConfig {
  name: string;
  taskType: EndpointType;
  routingStrategy: 'TRAFFIC_SPLIT';
  destinations: { name: string; trafficPercentage: number }[];
  /** The route's optional `gatehouse:` mapping (sticky, rules, fallbacks); MLflow ignores it. */
  extensions?: Record<string, unknown>;
}

/** A `routes[]` entry with `task_type: ml/v1/predict`: a split over predict endpoints (Gatehouse extension). */
export interface PredictRouteFileConfig extends Omit<TrafficRouteFileConfig, 'taskType'> {
  taskType: typeof PREDICT_ENDPOINT_TYPE;
}

export interface GatewayFileConfig {
  endpoints: EndpointFileConfig[];
  routes: TrafficRouteFileConfig[];
  /** `ml/v1/predict` endpoints (registry models); absent from `endpoints`. */
  modelEndpoints?: ModelEndpointFileConfig[];
  /** Routes over `ml/v1/predict` endpoints; absent from `routes`. */
  predictRoutes?: PredictRouteFileConfig[];
  /** The top-level `gatehouse:` mapping; `{}` if absent. */
  extensions: Record<string, unknown>;
}

/** Every problem found in a gateway config file, each prefixed with where it is. */
export class GatewayConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'GatewayConfigError';
  }
}

/** A Model Registry reference: `models:/<name>@<alias>`, `models:/<name>/<version>` or `models:/<name>/<Stage>`. */
export type ModelReference =
  | { name: string; kind: 'alias'; alias: string }
  | { name: string; kind: 'version'; version: string }
  | { name: string; kind: 'stage'; stage: string };

/** The endpoint type of classic-ML endpoints served from the registry (a Gatehouse extension; MLflow has none). */
export const PREDICT_ENDPOINT_TYPE = 'ml/v1/predict';
/** The `model.provider` of predict endpoints: the model comes from the MLflow Model Registry. */
export const REGISTRY_PROVIDER = 'mlflow-model-registry';

/** An `endpoint_type: ml/v1/predict` endpoint: a registry model served by an MLflow scoring server. */
export interface ModelEndpointFileConfig {
  name: string;
  /** `model.name` as written (`models:/…`). */
  modelUri: string;
  reference: ModelReference;
  limit: EndpointLimit | null;
  /** `gatehouse.path`: an extra public path under `/predict/`. */
  path: string | undefined;
  /** `gatehouse.serving_url_template`: `{name}` and `{version}` are filled in (URL-encoded). */
  servingUrlTemplate: string | undefined;
  /** `gatehouse.timeout_ms`: time allowed for the scoring server's answer. */
  timeoutMs: number | undefined;
  /** `gatehouse.cache` as written; validated (and layered over the top-level defaults) with the route table. */
  cache?: unknown;
  /**
   * The traffic keys of its `gatehouse:` mapping as written (`retry`, `circuit_breaker`, `deadline_ms`,
   * `fallbacks`, `load_balancing`, `ejection`, `health_check`), validated with the route table by the
   * same parsers as LLM endpoints'; absent when none is set.
   */
  traffic?: Record<string, unknown>;
  /** `gatehouse.batch`: fan-out of scoring requests with many rows. */
  batch?: ScoringBatchSettings;
}

/** The `gatehouse:` keys of a predict endpoint that the traffic parsers read. */
export const PREDICT_TRAFFIC_KEYS = [
  'retry',
  'circuit_breaker',
  'deadline_ms',
  'fallbacks',
  'load_balancing',
  'ejection',
  'health_check',
] as const;
