import { EndpointType } from 'src/modules/providers/provider-adapter';
import { PromptSelector } from 'src/modules/prompts/prompt.types';
import { ConversationSettings } from 'src/modules/conversations/conversation-settings.config';

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
}

export interface TrafficRouteFileConfig {
  name: string;
  taskType: EndpointType;
  routingStrategy: 'TRAFFIC_SPLIT';
  destinations: { name: string; trafficPercentage: number }[];
}

export interface GatewayFileConfig {
  endpoints: EndpointFileConfig[];
  routes: TrafficRouteFileConfig[];
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
