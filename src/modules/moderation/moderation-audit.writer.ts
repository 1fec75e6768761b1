import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AuditEntry } from 'src/modules/audit/audit.repository';
import { AuditService } from 'src/modules/audit/audit.service';
import { MODERATION_VERDICT_EVENT, ModerationVerdictEvent } from 'src/modules/moderation/moderation.events';

const FLUSH_MS = 500;
const MAX_BATCH = 200;
/** Beyond this many unwritten entries (database down for long) the oldest are dropped and counted. */
const MAX_PENDING = 10_000;

/**
 * Writes every guardrail decision that was not a plain `allow` to the audit log (`moderation.block`,
 * `moderation.flag`, `moderation.redact`): which policy and checks, the categories, scores — never the
 * text. Off the request path: verdicts are queued and written in multi-row batches.
 */
@Injectable()
export class ModerationAuditWriter implements OnApplicationShutdown {
  private readonly logger = new Logger('ModerationAudit');
  private pending: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private dropped = 0;

  constructor(private readonly audit: AuditService) {}

  @OnEvent(MODERATION_VERDICT_EVENT)
  onVerdict(event: ModerationVerdictEvent): void {
    if (event.action === 'allow') return;
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push({
      actorId: event.principalId,
      actorName: null,
      teamId: event.teamId,
      action: `moderation.${event.action}`,
      outcome: event.action === 'block' ? 'denied' : 'success',
      targetType: 'endpoint',
      targetId: event.endpoint,
      before: null,
      after: {
        policy: event.policy,
        stage: event.stage,
        streamed: event.streamed,
        checks: event.checks.filter((c) => c.action !== 'allow'),
      },
      requestId: event.requestId,
      source: null,
    });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is queued; on failure the entries stay queued and the next verdict or shutdown retries. */
  flush(): Promise<void> {
    this.timer = undefined;
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, MAX_BATCH);
      try {
        await this.audit.appendBatch(batch);
      } catch (error) {
        this.logger.warn(
          `could not write ${batch.length} guardrail verdict(s) to the audit log; will retry: ${error instanceof Error ? error.message : String(error)}`,
        );
        this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS * 4);
        return;
      }
      this.pending.splice(0, batch.length);
    }
    if (this.dropped > 0) {
      this.logger.warn(
        `${this.dropped} guardrail verdict(s) were dropped from the audit queue while it was full`,
      );
      this.dropped = 0;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    // A failed final write re-armed the retry timer: nothing more can be done at shutdown.
    if (this.timer) clearTimeout(this.timer);
  }
}
