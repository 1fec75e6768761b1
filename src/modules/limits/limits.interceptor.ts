import { Injectable } from '@nestjs/common';
import { InvocationRecord } from 'src/common/observability/invocation';
import { Telemetry } from 'src/common/observability/telemetry';
import { LimitsService } from 'src/modules/limits/limits.service';
import { InvocationContext, InvocationResult, StageNext } from 'src/modules/pipeline/invocation-context';
import { StageInterceptor } from 'src/modules/pipeline/stage.interceptor';
import { CanonicalChunk } from 'src/modules/providers/provider-adapter';

/**
 * Token limits, concurrency caps and USD budgets: reserved before the upstream call, settled with the
 * real usage when the invocation is over — answered, failed, or abandoned by the caller — for JSON
 * answers and streams alike. Also where the answer's usage and a stream's time to first token are noted
 * on the record (the settlement and the ledger read them).
 */
@Injectable()
export class LimitsInterceptor extends StageInterceptor {
  constructor(
    private readonly limits: LimitsService,
    private readonly telemetry: Telemetry,
  ) {
    super();
  }

  async around(ctx: InvocationContext, next: StageNext): Promise<InvocationResult> {
    // A call the gateway answers itself (a token count) spends no tokens and no money; its request
    // rate was admitted by the rate-limit guard.
    if (ctx.answer !== 'upstream') return next();
    const record = ctx.record;
    const lease = await this.telemetry.phase('limits', record, () => this.limits.reserve(ctx));
    const result = await next();
    if (result.kind === 'response') {
      addUsage(record, result.response.usage);
      return result;
    }
    if (result.kind === 'stream')
      return { kind: 'stream', chunks: meterStream(result.chunks, record, lease.tally) };
    return result;
  }
}

/** Adds an answer's usage to the record (a prompt API's retried call adds a second answer's). */
export function addUsage(
  record: InvocationRecord,
  usage: { prompt_tokens: number | null; completion_tokens?: number | null } | null | undefined,
): void {
  if (!usage) return;
  if (typeof usage.prompt_tokens === 'number')
    record.promptTokens = (record.promptTokens ?? 0) + usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') {
    record.completionTokens = (record.completionTokens ?? 0) + usage.completion_tokens;
  }
}

/**
 * Notes the time to the first chunk and the usage the stream reports (cumulative: the last report
 * counts), without touching the chunks; the tally keeps the streamed text so completion tokens can be
 * counted when the stream reports no usage.
 */
async function* meterStream(
  source: AsyncGenerator<CanonicalChunk>,
  record: InvocationRecord,
  tally: { add(chunk: CanonicalChunk): void },
): AsyncGenerator<CanonicalChunk> {
  for await (const chunk of source) {
    record.ttftMs ??= performance.now() - record.startedHr;
    const usage = chunk.usage;
    if (usage) {
      if (typeof usage.prompt_tokens === 'number') record.promptTokens = usage.prompt_tokens;
      if (typeof usage.completion_tokens === 'number') record.completionTokens = usage.completion_tokens;
    }
    tally.add(chunk);
    yield chunk;
  }
}
