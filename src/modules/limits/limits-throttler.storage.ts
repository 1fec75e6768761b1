import { Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { CounterOp } from 'src/modules/limits/counter.store';
import { Admission, LimitCounters, OpMeta } from 'src/modules/limits/limit-counters.service';
import { LimitRule } from 'src/modules/limits/limit-rules';
import { rateWindow } from 'src/modules/limits/windows';

/** One request-rate rule that applies to a request, and the subject it is counted for. */
export interface RuleHit {
  rule: LimitRule;
  subject: string;
}

/** The counter key of a rule's window for one subject (shared with token rules: rule ids are unique). */
export function ruleKey(rule: LimitRule, subject: string, windowStart: number): string {
  return `r:${rule.id}:${subject}:${windowStart}`;
}

/**
 * `@nestjs/throttler`'s storage on the gateway's limit counters: fixed windows in Redis (atomic Lua,
 * exact across replicas) or in this process when embedded. Unlike the throttler's in-memory store, a
 * refused request is not counted. `admitAll` checks every rule of one request in one atomic step, so a
 * request refused by one rule is counted by none.
 */
@Injectable()
export class LimitsThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly counters: LimitCounters) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    const window = rateWindow(ttl, now);
    const rule: LimitRule = {
      id: `throttler:${throttlerName}`,
      source: 'admin',
      scope: 'global',
      subject: null,
      endpoint: null,
      metric: 'requests',
      windowMs: ttl,
      limit,
    };
    const secondsLeft = Math.max(1, Math.ceil((window.end - now) / 1000));
    try {
      const admission = await this.admitAll([{ rule, subject: key }], now);
      return {
        totalHits: admission.after[0].used,
        timeToExpire: secondsLeft,
        isBlocked: false,
        timeToBlockExpire: 0,
      };
    } catch (error) {
      if (!(error instanceof GatewayException) || error.status !== 429) throw error;
      return {
        totalHits: limit + 1,
        timeToExpire: secondsLeft,
        isBlocked: true,
        timeToBlockExpire: secondsLeft,
      };
    }
  }

  /** Counts one request against every rule, or (throwing the 429 of the first full one) against none. */
  admitAll(hits: readonly RuleHit[], now: number): Promise<Admission> {
    const ops: CounterOp[] = [];
    const meta: OpMeta[] = [];
    for (const { rule, subject } of hits) {
      const window = rateWindow(rule.windowMs!, now);
      ops.push({
        key: ruleKey(rule, subject, window.start),
        limit: rule.limit,
        amount: 1,
        mode: 'add',
        ttlMs: window.end - now + 60_000,
      });
      meta.push({ kind: 'rule', rule, end: window.end });
    }
    // Request counters only add: no hold, so no reservation id is needed to release one.
    return this.counters.reserve('-', ops, meta, now);
  }
}
