import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import {
  INVOCATION_ANSWERED,
  INVOCATION_FINISHED,
  InvocationRecord,
} from 'src/common/observability/invocation';

export interface BeginInvocation {
  requestId: string;
  surface: string;
  principal: Principal | undefined;
  /** A call made on a caller's behalf: the caller's record (its team, principal and key are charged). */
  parent?: InvocationRecord;
  purpose?: string;
}

/**
 * Starts the record of an invocation and emits it exactly once when it is over: for HTTP requests when
 * the response closes (after the last byte, after an error body, or when the client went away:
 * outcome `cancelled`); for calls the gateway makes on a caller's behalf when they settle. Listeners
 * run synchronously and must be cheap (buffer, count).
 */
@Injectable()
export class InvocationTracker {
  private readonly logger = new Logger('Invocation');

  constructor(private readonly events: EventEmitter2) {}

  begin(init: BeginInvocation): InvocationRecord {
    const principal = init.principal;
    return {
      requestId: init.requestId,
      startedAt: Date.now(),
      startedHr: performance.now(),
      surface: init.surface,
      stream: false,
      attempts: 0,
      cacheHit: false,
      principalId: principal?.id,
      team: principal?.teamId ?? undefined,
      apiKeyId: principal?.apiKeyId ?? undefined,
      invocationId: randomUUID(),
      parentId: init.parent?.invocationId,
      purpose: init.purpose,
    };
  }

  /**
   * `ended`: the answer was delivered completely (false: the client went away first). `settle` runs
   * once the outcome is known and before the record is emitted (the stages' reservations settle there,
   * so the record's cost is final for the ledger).
   */
  finish(record: InvocationRecord, status: number, ended: boolean, settle?: () => void): void {
    this.conclude(record, status, ended, settle);
    this.emit(INVOCATION_FINISHED, record);
  }

  /**
   * An HTTP answer whose last byte is about to be sent: the record is concluded now (as delivered) and
   * emitted as INVOCATION_ANSWERED; `closed` emits INVOCATION_FINISHED once the response has closed.
   */
  answered(record: InvocationRecord, status: number, settle?: () => void): void {
    this.conclude(record, status, true, settle);
    record.answered = true;
    this.emit(INVOCATION_ANSWERED, record);
  }

  /** The response of an answered record closed. */
  closed(record: InvocationRecord): void {
    this.emit(INVOCATION_FINISHED, record);
  }

  private conclude(record: InvocationRecord, status: number, ended: boolean, settle?: () => void): void {
    record.finishedAt = Date.now();
    record.latencyMs = performance.now() - record.startedHr;
    record.status = status;
    record.outcome = !ended
      ? 'cancelled'
      : record.errorCode !== undefined || status >= 400
        ? 'error'
        : record.cacheHit
          ? 'cache_hit'
          : 'success';
    try {
      settle?.();
    } catch (error) {
      this.logger.error(`settling invocation ${record.requestId} failed: ${(error as Error).message}`);
    }
  }

  private emit(event: string, record: InvocationRecord): void {
    try {
      this.events.emit(event, record);
    } catch (error) {
      // A listener's bug must not break the response path; it is logged once per occurrence.
      this.logger.error(`invocation listener failed: ${(error as Error).message}`);
    }
  }
}
