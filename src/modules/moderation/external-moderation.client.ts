import { Injectable } from '@nestjs/common';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { OPERATION_OF } from 'src/modules/providers/provider-adapter';
import {
  ClassifierResult,
  ExternalClassifierRequest,
  ExternalJudgeRequest,
  ExternalModerationCaller,
} from 'src/modules/moderation/moderation.types';
import { EndpointEntry } from 'src/modules/routing/route-table';
import { InternalInvocations, InvocationParent } from 'src/modules/pipeline/internal-invocations.service';

export class ExternalModerationError extends Error {}

/** OpenAI-wire operation paths; a moderation API sits next to them (`…/v1/moderations`). */
const OPERATION_PATH = /\/(?:chat\/completions|completions|embeddings)(?=\?|$)/;

/**
 * Calls moderation models on a caller's behalf, through the gateway's own configuration and pipeline
 * (InternalInvocations: the caller's limits and budgets, a ledger row naming the caller's request, a
 * span): an LLM judge as a chat call, an OpenAI-compatible `/v1/moderations` with the endpoint's own
 * base URL and credentials.
 */
@Injectable()
export class ExternalModerationClient {
  constructor(
    private readonly internal: InternalInvocations,
    private readonly http: UpstreamHttpClient,
  ) {}

  /** The caller a request's checks call moderation models for. */
  forCaller(parent: InvocationParent): ExternalModerationCaller {
    return {
      complete: (request) => this.complete(parent, request),
      moderate: (request) => this.moderate(parent, request),
    };
  }

  private async complete(parent: InvocationParent, request: ExternalJudgeRequest): Promise<string> {
    const response = await withDeadline(request.timeoutMs, request.signal, (signal) =>
      this.internal.chat(
        parent,
        'guardrail_judge',
        request.endpoint,
        { messages: [{ role: 'user', content: request.prompt }], temperature: 0, max_tokens: 32 },
        signal,
      ),
    );
    const content = response.choices[0]?.message.content;
    return typeof content === 'string' ? content : '';
  }

  private async moderate(
    parent: InvocationParent,
    request: ExternalClassifierRequest,
  ): Promise<ClassifierResult> {
    const text = await withDeadline(request.timeoutMs, request.signal, (signal) =>
      this.internal.call(
        parent,
        'moderation_model',
        request.endpoint,
        signal,
        async (endpoint, callSignal) => {
          const upstream = moderationsRequest(endpoint, request.input);
          const response = await this.http.send(upstream, {
            signal: callSignal,
            headersTimeoutMs: request.timeoutMs,
            restricted: endpoint.restrictedEgress,
          });
          const body = await this.http.readText(response, callSignal);
          if (response.status < 200 || response.status >= 300) {
            throw new ExternalModerationError(`moderation API answered ${response.status}`);
          }
          return body;
        },
      ),
    );
    return parseModerationBody(text);
  }
}

/** The endpoint's own upstream request, re-pointed at `/moderations` (OpenAI-wire providers only). */
function moderationsRequest(endpoint: EndpointEntry, input: string) {
  const op = OPERATION_OF[endpoint.endpointType];
  const probe =
    op === 'chat'
      ? { messages: [{ role: 'user', content: '' }] }
      : op === 'completions'
        ? { prompt: '' }
        : { input: '' };
  const built = endpoint.adapter.buildRequest(op, probe, endpoint.target, false);
  if (!OPERATION_PATH.test(built.url) || built.url.includes('/openai/deployments/')) {
    throw new ExternalModerationError(`endpoint '${endpoint.name}' has no OpenAI-compatible moderation API`);
  }
  return {
    ...built,
    url: built.url.replace(OPERATION_PATH, '/moderations'),
    body: JSON.stringify({ input, ...(endpoint.modelName ? { model: endpoint.modelName } : {}) }),
  };
}

function parseModerationBody(text: string): ClassifierResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ExternalModerationError('moderation API answered with a non-JSON body');
  }
  const result = (body as { results?: unknown[] } | null)?.results?.[0] as
    Partial<ClassifierResult> | undefined;
  if (
    !result ||
    typeof result.flagged !== 'boolean' ||
    typeof result.categories !== 'object' ||
    !result.categories
  ) {
    throw new ExternalModerationError('moderation API answered without results');
  }
  return {
    flagged: result.flagged,
    categories: result.categories,
    category_scores:
      typeof result.category_scores === 'object' && result.category_scores ? result.category_scores : {},
  };
}

/** Runs `call` with its own deadline; the deadline holds even if the upstream ignores the abort. */
async function withDeadline<T>(
  timeoutMs: number,
  parent: AbortSignal,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([parent, timeout]);
  const pending = call(signal);
  const deadline = new Promise<never>((_, reject) => {
    const onAbort = () => reject(new ExternalModerationError('timed out'));
    if (timeout.aborted) onAbort();
    else timeout.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, deadline]);
  } catch (error) {
    if (timeout.aborted) throw new ExternalModerationError('timed out');
    throw error;
  } finally {
    pending.catch(() => undefined);
  }
}
