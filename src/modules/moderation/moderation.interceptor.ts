import { Injectable } from '@nestjs/common';
import { Telemetry } from 'src/common/observability/telemetry';
import { ModerationService } from 'src/modules/moderation/moderation.service';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { Operation } from 'src/modules/providers/provider-adapter';

const NOTHING_TO_SCREEN = (): Promise<void> => Promise.resolve();

/**
 * Guardrails around the upstream call: the input checks screen the whole rendered context (and may
 * redact it: what goes upstream, and what the cache is keyed on, is the redacted request); the output
 * checks screen the answer, chunk by chunk for streams, and restore reversible placeholders per caller
 * (on cache hits too). A flagged or blocked invocation is never cached. Predict calls screen their
 * payload's text cells on the way in.
 */
@Injectable()
export class ModerationInterceptor extends StageInterceptor {
  constructor(
    private readonly moderation: ModerationService,
    private readonly telemetry: Telemetry,
  ) {
    super();
  }

  async around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    if (!ctx.model && !this.moderation.policyFor(ctx.endpoint!, ctx.principal?.teamId)) {
      // No policy for this endpoint and team: the phase is still traced (a guardrail pass), at no cost.
      await this.telemetry.phase('moderation', ctx.record, NOTHING_TO_SCREEN);
      return next();
    }
    const target = {
      endpoint: ctx.endpoint ?? ctx.model!,
      principal: ctx.principal,
      requestId: ctx.requestId,
      signal: ctx.signal,
      record: ctx.record,
    };
    if (ctx.model) {
      const scoring = ctx.scoring;
      if (!scoring) return next();
      const screened = await this.telemetry.phase('moderation', ctx.record, () =>
        this.moderation.screenScoring(target, scoring.keyBody),
      );
      if (screened.flagged) ctx.cacheable = false;
      if (screened.payload !== scoring.keyBody) {
        const payload = screened.payload;
        ctx.scoring =
          'csv' in payload
            ? { text: payload.csv, csv: true, keyBody: payload, partial: scoring.partial }
            : {
                text: JSON.stringify(payload.json),
                csv: false,
                keyBody: payload,
                partial: scoring.partial,
              };
      }
      return next();
    }
    const op = ctx.operation as Operation;
    const session = await this.telemetry.phase('moderation', ctx.record, () =>
      this.moderation.screenInput({ ...target, op, request: ctx.request! }),
    );
    ctx.request = session.request;
    // Read when the invocation is over: an output check may flag the answer after it was captured.
    ctx.onFinish(() => {
      if (!session.cacheable) ctx.cacheable = false;
    });
    const result = await next();
    if (result.kind === 'stream') return { kind: 'stream', chunks: session.guardStream(result.chunks) };
    if (result.kind === 'response')
      return { kind: 'response', response: await session.screenOutput(result.response) };
    return result;
  }
}
