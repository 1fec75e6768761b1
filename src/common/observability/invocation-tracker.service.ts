import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { FastifyReply } from 'fastify';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';

/**
 * Starts the record of an inference request and emits it exactly once, when the underlying socket
 * response closes: after the last byte of a normal or streamed answer, after an error body, or when the
 * client went away (outcome `cancelled`). Listeners run synchronously and must be cheap (buffer, count).
 */
@Injectable()
export class InvocationTracker {
  private readonly logger = new Logger('Invocation');

  constructor(private readonly events: EventEmitter2) {}

  begin(reply: FastifyReply, surface: string): InvocationRecord {
    const request = reply.request;
    const existing = request.invocation;
    if (existing) return existing;
    const principal = request.principal;
    const record: InvocationRecord = {
      requestId: String(request.id),
      startedAt: Date.now(),
      startedHr: performance.now(),
      surface,
      stream: false,
      attempts: 0,
      cacheHit: false,
      principalId: principal?.id,
      team: principal?.teamId ?? undefined,
      apiKeyId: principal?.apiKeyId ?? undefined,
      invocationId: randomUUID(),
    };
    request.invocation = record;
    reply.raw.once('close', () => this.finish(record, reply));
    return record;
  }

  private finish(record: InvocationRecord, reply: FastifyReply): void {
    const raw = reply.raw;
    record.finishedAt = Date.now();
    record.latencyMs = performance.now() - record.startedHr;
    record.status = raw.statusCode;
    const ended = raw.writableFinished;
    record.outcome = !ended
      ? 'cancelled'
      : record.errorCode !== undefined || raw.statusCode >= 400
        ? 'error'
        : record.cacheHit
          ? 'cache_hit'
          : 'success';
    try {
      this.events.emit(INVOCATION_FINISHED, record);
    } catch (error) {
      // A listener's bug must not break the response path; it is logged once per occurrence.
      this.logger.error(`invocation listener failed: ${(error as Error).message}`);
    }
  }
}
