import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { CsvBody } from 'src/common/http/csv-body';
import { InvocationContext, InvocationSpec, Surface } from 'src/modules/pipeline/invocation-context';
import { PromptApiService } from 'src/modules/prompts/prompt-api.service';
import { Operation, OPERATION_OF } from 'src/modules/providers/provider-adapter';
import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';
import { RouteEntry } from 'src/modules/routing/route-table';
import { RoutingService } from 'src/modules/routing/routing.service';

const TYPE_NAME: Record<Operation, string> = {
  chat: 'a chat',
  completions: 'a completions',
  embeddings: 'an embeddings',
};

/** MLflow 3's unified invocation: `messages` → chat, `input` → embeddings. */
function unifiedOp(body: unknown): Operation {
  const object = body !== null && typeof body === 'object' && !(body instanceof CsvBody) ? body : {};
  if ('messages' in object) return 'chat';
  if ('input' in object) return 'embeddings';
  throw new GatewayException(
    400,
    GatewayErrorCode.InvalidRequest,
    'Invalid request: payload format must be either chat or embeddings',
  );
}

/** Long names are clipped before they are echoed in an error. */
function clipName(name: string): string {
  return name.length > 128 ? `${name.slice(0, 128)}…` : name;
}

/**
 * Which endpoint an invocation names, by the entry point's convention (the body's `model`, a path
 * parameter, a predict endpoint's own path, a published prompt API), with each surface's own answer
 * for a missing or unknown name. Reads only the in-memory route table and prompt catalog.
 */
@Injectable()
export class InvocationResolver {
  constructor(
    private readonly routing: RoutingService,
    private readonly promptApis: PromptApiService,
  ) {}

  resolve(
    ctx: InvocationContext,
    spec: InvocationSpec,
    params: Record<string, string> | undefined,
    url: string,
  ): void {
    const record = ctx.record;
    if (spec.name === 'predict-path') {
      const path = url.split('?')[0].replace(/\/+$/, '');
      const entry = this.routing.table().getModelByPath(path);
      if (!entry) throw new RegistryException(404, RegistryErrorCode.ModelNotFound, 'Not Found');
      this.predict(ctx, entry);
      return;
    }
    if (spec.name === 'prompt-api') {
      const name = params?.name ?? '';
      record.requested = name;
      const { entry, call } = this.promptApis.resolveForCall(name);
      ctx.api = call;
      this.llm(ctx, entry, 'chat');
      return;
    }
    const body = ctx.body as Record<string, unknown> | CsvBody | undefined;
    if (spec.opFromBody) spec = { ...spec, op: unifiedOp(body) };
    const name =
      spec.name === 'param'
        ? params?.name
        : body && !(body instanceof CsvBody) && typeof body.model === 'string'
          ? body.model
          : undefined;
    record.requested = name;
    const model = name === undefined ? undefined : this.routing.table().getPredict(name);
    if (model && spec.op === undefined) {
      this.predict(ctx, model);
      return;
    }
    if (model)
      throw GatewayException.invalid(
        `Endpoint '${model.name}' is not ${TYPE_NAME[spec.op!]} endpoint.`,
        'model',
      );
    if (body instanceof CsvBody) {
      throw new GatewayException(
        415,
        GatewayErrorCode.UnsupportedMediaType,
        "Unsupported Content-Type: send the request body as 'application/json'.",
      );
    }
    const entry = this.byName(name, spec.surface);
    const op = spec.op ?? OPERATION_OF[entry.endpointType];
    if (spec.op && OPERATION_OF[entry.endpointType] !== spec.op) {
      record.operation = op;
      throw new GatewayException(
        400,
        GatewayErrorCode.WrongEndpointType,
        `Endpoint '${entry.name}' is not ${TYPE_NAME[spec.op]} endpoint.`,
        { param: 'model' },
      );
    }
    this.llm(ctx, entry, op);
  }

  private llm(ctx: InvocationContext, entry: RouteEntry, op: Operation): void {
    ctx.entry = entry;
    ctx.operation = op;
    ctx.record.operation = op;
    if (entry.kind === 'route') {
      ctx.route = entry;
      ctx.record.route = entry.name;
    }
  }

  private predict(ctx: InvocationContext, entry: NonNullable<InvocationContext['entry']>): void {
    ctx.surface = 'predict';
    ctx.entry = entry;
    ctx.operation = 'predict';
    const record = ctx.record;
    record.surface = 'predict';
    record.operation = 'predict';
    record.requested = entry.name;
    record.provider = 'mlflow-model-serving';
    if (entry.kind === 'route') {
      ctx.route = entry;
      record.route = entry.name;
    }
  }

  private byName(name: string | undefined, surface: Surface): RouteEntry {
    if (name === undefined || name === '') {
      if (surface === 'anthropic') throw GatewayException.invalid('model: Field required', 'model');
      if (surface === 'mlflow-v3') {
        throw new GatewayException(
          400,
          GatewayErrorCode.InvalidRequest,
          "Missing required 'model' parameter in request body",
        );
      }
      throw new GatewayException(
        400,
        GatewayErrorCode.InvalidRequest,
        'You must provide a model parameter.',
        {
          param: 'model',
        },
      );
    }
    const entry = this.routing.resolve(name);
    if (entry) return entry;
    if (surface === 'anthropic') {
      // Anthropic's own words for a model it does not know.
      throw new GatewayException(404, GatewayErrorCode.EndpointNotFound, `model: ${clipName(name)}`, {
        param: 'model',
      });
    }
    if (surface === 'gemini') {
      // Google's own words for a model it does not serve.
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `models/${clipName(name)} is not found for API version v1beta, or is not supported for generateContent.`,
      );
    }
    if (surface === 'openai' || surface === 'responses') {
      throw new GatewayException(
        404,
        GatewayErrorCode.EndpointNotFound,
        `The model '${clipName(name)}' does not exist or you do not have access to it.`,
        { param: 'model' },
      );
    }
    if (surface === 'mlflow-v3') {
      throw new GatewayException(404, GatewayErrorCode.EndpointNotFound, 'Not Found', {
        mlflowDetail: {
          error_code: 'RESOURCE_DOES_NOT_EXIST',
          message: `GatewayEndpoint not found (name='${clipName(name)}')`,
        },
      });
    }
    throw new GatewayException(404, GatewayErrorCode.RouteNotFound, 'Not Found');
  }
}
