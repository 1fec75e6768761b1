import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { PredictEntry, PredictRouteEntry } from 'src/modules/routing/model-endpoint.entry';
import { REGISTRY_PROVIDER } from 'src/config/gateway-config.types';
import { EndpointEntry, RouteEntry } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';
import { Principal } from 'src/common/auth/principal';
import { AccessService } from 'src/modules/auth/access.service';

export interface MlflowEndpoint {
  name: string;
  endpoint_type: string;
  model: { name: string | null; provider: string };
  endpoint_url: string;
  limit: { calls: number; key: string | null; renewal_period: string } | null;
}

/** MLflow's `TrafficRouteConfig`, as its gateway answers `GET /api/3.0/gateway/route/{name}`. */
export interface MlflowTrafficRoute {
  name: string;
  task_type: string;
  destinations: { name: string; traffic_percentage: number }[];
  routing_strategy: 'TRAFFIC_SPLIT';
}

export interface MlflowEndpointPage {
  endpoints: MlflowEndpoint[];
  next_page_token?: string;
}

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface OpenAIModelList {
  object: 'list';
  data: OpenAIModel[];
}

/** MLflow's legacy server pages endpoint listings 3000 at a time with a base64 {"index": N} token. */
export const ENDPOINTS_PAGE_SIZE = 3000;

const STARTED = Math.floor(Date.now() / 1000);

@Injectable()
export class ModelListService {
  constructor(
    private readonly routing: RoutingService,
    private readonly access: AccessService,
  ) {}

  /** Callers see only the endpoints they may invoke; others answer 404 like unknown ones. */
  mlflowEndpoint(name: string, principal?: Principal): MlflowEndpoint {
    const model = this.routing.table().getPredict(name);
    if (model && this.access.canInvoke(principal, model.name)) return toMlflow(model);
    const entry = this.routing.resolve(name);
    if (!entry || entry.kind !== 'endpoint' || !this.access.canInvoke(principal, entry.name)) {
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `The endpoint '${name}' is not present or active on the server. Please verify the endpoint name.`,
      );
    }
    return toMlflow(entry);
  }

  /**
   * A traffic route (MLflow lists none under /api/2.0/endpoints/; its gateway shows each at
   * /api/3.0/gateway/route/{name}). Predict routes are listed as endpoints, so only LLM routes are here.
   */
  mlflowRoute(name: string, principal?: Principal): MlflowTrafficRoute {
    const entry = this.routing.resolve(name);
    if (!entry || entry.kind !== 'route' || !this.access.canInvoke(principal, entry.name)) {
      throw new GatewayException(
        404,
        GatewayErrorCode.RouteNotFound,
        `The route '${name}' is not present or active on the server. Please verify the route name.`,
      );
    }
    return {
      name: entry.name,
      task_type: entry.endpointType,
      destinations: entry.destinations.map((d) => ({
        name: d.endpoint.name,
        traffic_percentage: d.percentage,
      })),
      routing_strategy: 'TRAFFIC_SPLIT',
    };
  }

  mlflowEndpoints(
    pageToken: string | undefined,
    principal?: Principal,
    pageSize: number = ENDPOINTS_PAGE_SIZE,
  ): MlflowEndpointPage {
    const start = pageToken ? decodeToken(pageToken) : 0;
    const table = this.routing.table();
    // Predict endpoints (registry models) list after the LLM endpoints; a name clash keeps the LLM one.
    // Predict routes are listed too (MLflow lists no routes, but a client has no other way to find them).
    const all = [
      ...table.endpoints,
      ...table.models.filter((m) => table.getModel(m.name) === m),
      ...table.predictRoutes,
    ].filter((e) => this.access.canInvoke(principal, e.name));
    const page: MlflowEndpointPage = { endpoints: all.slice(start, start + pageSize).map(toMlflow) };
    if (start + pageSize < all.length) {
      page.next_page_token = Buffer.from(JSON.stringify({ index: start + pageSize })).toString('base64');
    }
    return page;
  }

  openAIModels(principal?: Principal): OpenAIModelList {
    const table = this.routing.table();
    return {
      object: 'list',
      data: [...table.endpoints, ...table.routes]
        .filter((entry) => this.access.canInvoke(principal, entry.name))
        .map(toOpenAIModel),
    };
  }

  /** One entry of the model list (the OpenAI SDK's models.retrieve); others answer 404 like unknown ones. */
  openAIModel(id: string, principal?: Principal): OpenAIModel {
    const entry = this.routing.resolve(id);
    if (!entry || !this.access.canInvoke(principal, entry.name)) {
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `The model '${id.length > 128 ? `${id.slice(0, 128)}…` : id}' does not exist or you do not have access to it.`,
        { param: 'model' },
      );
    }
    return toOpenAIModel(entry);
  }
}

function toOpenAIModel(entry: RouteEntry): OpenAIModel {
  return {
    id: entry.name,
    object: 'model',
    created: STARTED,
    owned_by: entry.kind === 'endpoint' ? entry.provider : 'gatehouse',
  };
}

function toMlflow(entry: EndpointEntry | PredictEntry): MlflowEndpoint {
  if (entry.kind === 'route') return routeToMlflow(entry);
  return {
    name: entry.name,
    endpoint_type: entry.endpointType,
    model: {
      name: entry.kind === 'model' ? entry.modelUri : (entry.modelName ?? null),
      provider: entry.provider,
    },
    endpoint_url: `/gateway/${entry.name}/invocations`,
    limit: entry.limit
      ? { calls: entry.limit.calls, key: entry.limit.key, renewal_period: entry.limit.renewal_period }
      : null,
  };
}

/**
 * A predict route as an MLflow endpoint: `model.name` is the registered model its destinations serve
 * (`models:/<name>`, when they all serve one), the provider the registry's; no `limit` of its own
 * (its destinations' limits apply).
 */
function routeToMlflow(route: PredictRouteEntry): MlflowEndpoint {
  const models = new Set(route.destinations.map((d) => d.endpoint.registeredModel));
  return {
    name: route.name,
    endpoint_type: route.endpointType,
    model: {
      name: models.size === 1 ? `models:/${[...models][0]}` : null,
      provider: REGISTRY_PROVIDER,
    },
    endpoint_url: `/gateway/${route.name}/invocations`,
    limit: null,
  };
}

function decodeToken(token: string): number {
  let index: unknown;
  try {
    index = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { index?: unknown }).index;
  } catch {
    index = undefined;
  }
  const value = typeof index === 'number' ? index : Number.NaN;
  if (!Number.isInteger(value)) {
    throw invalidToken(
      token,
      'The index is not defined as a value that can be represented as a positive integer.',
    );
  }
  if (value < 0) throw invalidToken(token, 'The index cannot be negative.');
  return value;
}

function invalidToken(token: string, why: string): GatewayException {
  const message = `Invalid SearchRoutes token: ${token.slice(0, 256)}. ${why}`;
  return new GatewayException(400, GatewayErrorCode.InvalidRequest, message, {
    mlflowDetail: { error_code: 'INVALID_PARAMETER_VALUE', message },
  });
}
