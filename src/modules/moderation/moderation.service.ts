import { InvocationRecord } from 'src/common/observability/invocation';
import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import { ExternalModerationClient } from 'src/modules/moderation/external-moderation.client';
import { ModerationBlockedException } from 'src/modules/moderation/moderation.exception';
import { MODERATION_VERDICT_EVENT, ModerationVerdictEvent } from 'src/modules/moderation/moderation.events';
import { runStage, StageOutcome } from 'src/modules/moderation/moderation-pipeline';
import {
  ModeratedEndpoint,
  ModerationPolicyStore,
  resolvePolicy,
} from 'src/modules/moderation/moderation-policy.store';
import { guardStream } from 'src/modules/moderation/moderation-stream.transform';
import {
  cloneRequest,
  requestSlots,
  responseSlots,
  scoringSlots,
} from 'src/modules/moderation/moderation-text';
import { PlaceholderVault } from 'src/modules/moderation/placeholder-vault';
import {
  CheckVerdict,
  CompiledPolicy,
  ModerationAction,
  ModerationStage,
  maxAction,
} from 'src/modules/moderation/moderation.types';
import {
  CanonicalChunk,
  CanonicalRequest,
  CanonicalResponse,
  Operation,
} from 'src/modules/providers/provider-adapter';
import { RoutingService } from 'src/modules/routing/routing.service';

export interface ScreenInput {
  endpoint: ModeratedEndpoint;
  op: Operation;
  request: CanonicalRequest;
  principal: Principal | undefined;
  requestId: string;
  signal: AbortSignal;
  /** The request's invocation record: the strongest action per stage is noted on it (usage, metrics). */
  record?: InvocationRecord;
}

/** Who and what is screened, without the request itself. */
export type ScreenTarget = Omit<ScreenInput, 'op' | 'request'>;

/** The guardrails of one request: the (possibly redacted) request, and the output side to apply later. */
export interface ModerationSession {
  readonly request: CanonicalRequest;
  /** False once a check flagged or blocked the request or its answer: such answers are never cached. */
  readonly cacheable: boolean;
  screenOutput(response: CanonicalResponse): Promise<CanonicalResponse>;
  guardStream(chunks: AsyncGenerator<CanonicalChunk>): AsyncGenerator<CanonicalChunk>;
}

const PASSTHROUGH = (request: CanonicalRequest): ModerationSession => ({
  request,
  cacheable: true,
  screenOutput: (response) => Promise.resolve(response),
  guardStream: (chunks) => chunks,
});

/** The guardrail façade the inference path calls: policy resolution, input and output stages, events. */
@Injectable()
export class ModerationService {
  private readonly logger = new Logger('Moderation');

  constructor(
    private readonly routing: RoutingService,
    private readonly store: ModerationPolicyStore,
    private readonly external: ExternalModerationClient,
    private readonly events: EventEmitter2,
  ) {}

  policyFor(endpoint: ModeratedEndpoint, teamId: string | null | undefined): CompiledPolicy | undefined {
    return resolvePolicy(this.routing.table(), endpoint, teamId, this.store.overridesFor(teamId)).policy;
  }

  /** Runs the input checks. Throws ModerationBlockedException on a block. */
  async screenInput(input: ScreenInput): Promise<ModerationSession> {
    const policy = this.policyFor(input.endpoint, input.principal?.teamId);
    if (!policy) return PASSTHROUGH(input.request);
    const vault = new PlaceholderVault();
    let flagged = false;
    const ctx = { vault, external: this.external.forCaller(input), signal: input.signal };
    let request = input.request;
    if (policy.input.length > 0) {
      const started = performance.now();
      const slots = requestSlots(input.op, request);
      const outcome = await runStage(policy.input, 'input', slots.units, ctx);
      this.emit(input, policy, 'input', outcome.action, outcome.verdicts, false, started);
      flagged ||= outcome.action === 'flag' || outcome.action === 'block';
      if (outcome.blockedBy) throw new ModerationBlockedException(outcome.blockedBy, 'input');
      if (outcome.action === 'redact') {
        request = cloneRequest(request);
        requestSlots(input.op, request).write(outcome.texts);
      }
    }
    if (policy.output.length === 0 && vault.size === 0)
      return { ...PASSTHROUGH(request), cacheable: !flagged };
    return {
      request,
      get cacheable() {
        return !flagged;
      },
      screenOutput: async (response) => {
        const started = performance.now();
        const slots = responseSlots(input.op, response);
        let outcome: StageOutcome | undefined;
        if (policy.output.length > 0) {
          outcome = await runStage(policy.output, 'output', slots.units, ctx);
          this.emit(input, policy, 'output', outcome.action, outcome.verdicts, false, started);
          flagged ||= outcome.action === 'flag' || outcome.action === 'block';
          if (outcome.blockedBy) throw new ModerationBlockedException(outcome.blockedBy, 'output');
        }
        const texts = outcome?.texts ?? slots.units.map((u) => u.text);
        slots.write(texts.map((t) => vault.restore(t)));
        return response;
      },
      guardStream: (chunks) =>
        this.guarded(chunks, input, policy, vault, ctx, (action) => {
          flagged ||= action === 'flag' || action === 'block';
        }),
    };
  }

  /**
   * The input checks of a scoring request (predict endpoints): every string cell of the payload, or the
   * CSV text. Returns the payload unchanged, or a redacted copy; throws ModerationBlockedException on a
   * block. Placeholders are not restored (a model's prediction is not text written for the caller), so
   * a reversible policy's PII is masked for scoring.
   */
  async screenScoring(
    input: ScreenTarget,
    payload: { csv: string } | { json: unknown },
  ): Promise<{ payload: { csv: string } | { json: unknown }; flagged: boolean }> {
    const policy = this.policyFor(input.endpoint, input.principal?.teamId);
    if (!policy || policy.input.length === 0) return { payload, flagged: false };
    const started = performance.now();
    const slots = scoringSlots(payload);
    const ctx = {
      vault: new PlaceholderVault(),
      external: this.external.forCaller(input),
      signal: input.signal,
    };
    const outcome = await runStage(policy.input, 'input', slots.units, ctx);
    this.emit(input, policy, 'input', outcome.action, outcome.verdicts, false, started);
    if (outcome.blockedBy) throw new ModerationBlockedException(outcome.blockedBy, 'input');
    const flagged = outcome.action === 'flag';
    if (outcome.action !== 'redact') return { payload, flagged };
    const copy = structuredClone(payload);
    scoringSlots(copy).write(outcome.texts);
    return { payload: copy, flagged };
  }

  private async *guarded(
    chunks: AsyncGenerator<CanonicalChunk>,
    input: ScreenInput,
    policy: CompiledPolicy,
    vault: PlaceholderVault,
    ctx: Omit<Parameters<typeof runStage>[3], never>,
    onAction: (action: ModerationAction) => void,
  ): AsyncGenerator<CanonicalChunk> {
    const started = performance.now();
    const verdicts = new Map<string, CheckVerdict>();
    let action: ModerationAction = 'allow';
    const incremental = policy.output.filter((c) => c.incremental);
    try {
      yield* guardStream(chunks, {
        incremental,
        final: policy.output.filter((c) => !c.incremental),
        window: incremental.length > 0 ? policy.streamWindow : 0,
        ctx: { ...ctx, stage: 'output' },
        vault,
        record: (verdict) => {
          action = maxAction(action, verdict.action);
          onAction(verdict.action);
          const seen = verdicts.get(verdict.check);
          verdicts.set(verdict.check, {
            ...verdict,
            action: seen ? maxAction(seen.action, verdict.action) : verdict.action,
            detections: [...(seen?.detections ?? []), ...verdict.detections],
          });
        },
      });
    } finally {
      if (policy.output.length > 0) {
        this.emit(input, policy, 'output', action, [...verdicts.values()], true, started);
      }
    }
  }

  private emit(
    input: ScreenTarget,
    policy: CompiledPolicy,
    stage: ModerationStage,
    action: ModerationAction,
    verdicts: readonly CheckVerdict[],
    streamed: boolean,
    started: number,
  ): void {
    if (input.record) {
      if (stage === 'input') input.record.moderationInput = action;
      else input.record.moderationOutput = action;
    }
    // A failing listener (metrics, audit) must not turn a moderated request into an error.
    try {
      this.emitVerdict(input, policy, stage, action, verdicts, streamed, started);
    } catch (error) {
      this.logger.warn(
        `moderation.verdict listener failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private emitVerdict(
    input: ScreenTarget,
    policy: CompiledPolicy,
    stage: ModerationStage,
    action: ModerationAction,
    verdicts: readonly CheckVerdict[],
    streamed: boolean,
    started: number,
  ): void {
    this.events.emit(
      MODERATION_VERDICT_EVENT,
      new ModerationVerdictEvent(
        input.requestId,
        input.endpoint.name,
        policy.name,
        stage,
        action,
        verdicts.map((v) => ({
          check: v.check,
          action: v.action,
          categories: [...new Set(v.detections.map((d) => d.category))],
          score: v.score,
          error: v.error,
        })),
        input.principal?.teamId ?? null,
        input.principal?.id ?? null,
        streamed,
        Math.round((performance.now() - started) * 1000) / 1000,
      ),
    );
  }

  newModerationId(): string {
    return `modr-${randomUUID().replace(/-/g, '')}`;
  }
}
