import { Injectable } from '@nestjs/common';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { CsvBody } from 'src/common/http/csv-body';
import { RequestValidationError, validateRequest } from 'src/modules/pipeline/request-validation';
import {
  InvocationContext,
  InvocationResult,
  ScoringPayload,
  StageNext,
  Surface,
} from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { CanonicalRequest, Operation } from 'src/modules/providers/provider-adapter';
import { unavailableError } from 'src/modules/registry/scoring-errors';
import { takePartialFlag } from 'src/modules/registry/scoring-fanout';
import { validateScoringBody } from 'src/modules/registry/scoring-protocol';
import { fallbackChain } from 'src/modules/routing/traffic/attempt-chain';

/**
 * Request validation, after prompt rendering: the canonical (OpenAI-shaped) request every later stage
 * and the provider adapters work on, with each surface's own words for a bad one; for predict calls,
 * the scoring payload (JSON in MLflow's formats, or CSV) and the version that will answer.
 */
@Injectable()
export class RequestInterceptor extends StageInterceptor {
  around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    if (ctx.model) {
      this.predict(ctx);
      return next();
    }
    const op = ctx.operation as Operation;
    const request = validateFor(ctx.surface, op, ctx.body as Record<string, unknown>);
    ctx.request = request;
    ctx.record.stream = request.stream === true && op !== 'embeddings';
    return next();
  }

  private predict(ctx: InvocationContext): void {
    const model = ctx.model!;
    ctx.scoring = scoringPayload(ctx.body);
    const route = ctx.route?.endpointType === 'ml/v1/predict' ? ctx.route : undefined;
    if (!fallbackChain(model, route?.fallbacks).some((e) => e.target)) {
      // Rollouts judge a canary on how it ended: with nothing routable, it failed.
      if (route) ctx.record.endpointStatus = 503;
      throw unavailableError(model);
    }
    const target = model.target;
    if (target) {
      ctx.record.modelVersion = target.version;
      ctx.header('x-gatehouse-model-version', target.version);
      ctx.header('x-gatehouse-model', `models:/${model.registeredModel}/${target.version}`);
    }
  }
}

function scoringPayload(body: unknown): ScoringPayload {
  if (body instanceof CsvBody) {
    return { text: body.text, csv: true, keyBody: { csv: body.text }, partial: false };
  }
  const { body: scoring, partial } = takePartialFlag(validateScoringBody(body));
  return { text: JSON.stringify(scoring), csv: false, keyBody: { json: scoring }, partial };
}

const PAYLOAD_NAME: Record<Operation, string> = {
  chat: 'chat',
  completions: 'completions',
  embeddings: 'embeddings',
};

/** Same checks on every surface; MLflow's surfaces phrase the failure the way MLflow's servers do. */
function validateFor(surface: Surface, op: Operation, body: Record<string, unknown>): CanonicalRequest {
  try {
    return validateRequest(op, body);
  } catch (error) {
    if (!(error instanceof RequestValidationError) || (surface !== 'mlflow' && surface !== 'mlflow-v3')) {
      throw error;
    }
    const param = error.options.param ?? '';
    if (surface === 'mlflow-v3') {
      throw new GatewayException(
        400,
        GatewayErrorCode.InvalidRequest,
        `Invalid ${PAYLOAD_NAME[op]} payload: ${error.message}`,
        { param },
      );
    }
    // The legacy YAML server is FastAPI: pydantic failures are 422 with a list of {type, loc, msg}.
    const loc = [
      'body',
      ...param
        .split(/[.[\]]+/)
        .filter(Boolean)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
    ];
    throw new GatewayException(400, GatewayErrorCode.InvalidRequest, error.message, {
      param,
      mlflowStatus: 422,
      mlflowDetail: [
        { type: 'value_error', loc, msg: error.message, input: param ? lookup(body, loc.slice(1)) : body },
      ],
    });
  }
}

function lookup(body: unknown, path: (string | number)[]): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return null;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current ?? null;
}
