import {
  CounterOp,
  CounterSettlement,
  CounterState,
  CounterStore,
  holdMember,
  ReserveResult,
} from 'src/modules/limits/counter.store';

interface Counter {
  used: number;
  held: number;
  /** hold member → expiry (ms since epoch). */
  holds: Map<string, number>;
  expiresAt: number;
}

/**
 * In-process counters (no REDIS_URL, or the per-replica fallback while Redis is unreachable). JavaScript
 * runs each call to completion, so a reservation is atomic exactly like the Lua script it mirrors.
 */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  private readonly counters = new Map<string, Counter>();
  private readonly onceKeys = new Map<string, number>();
  private sweeps = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  reserve(
    reservationId: string,
    ops: readonly CounterOp[],
    now: number,
    holdTtlMs: number,
  ): Promise<ReserveResult> {
    if (++this.sweeps % 1024 === 0) this.sweep(now);
    const counters = ops.map((op) => this.counter(op.key, now));
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const c = counters[i];
      if (op.limit >= 0 && c.used + c.held + op.amount > op.limit) {
        return Promise.resolve({ ok: false, index: i, state: { used: c.used, held: c.held } });
      }
    }
    const after: CounterState[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const c = counters[i];
      if (op.mode === 'add') c.used += op.amount;
      else {
        c.held += op.amount;
        c.holds.set(holdMember(reservationId, op.amount), now + holdTtlMs);
      }
      c.expiresAt = Math.max(c.expiresAt, now + op.ttlMs);
      this.counters.set(op.key, c);
      after.push({ used: c.used, held: c.held });
    }
    return Promise.resolve({ ok: true, after });
  }

  settle(reservationId: string, settlements: readonly CounterSettlement[]): Promise<number[]> {
    const now = this.clock();
    return Promise.resolve(
      settlements.map((s) => {
        const c = this.counter(s.key, now);
        if (s.held > 0 && c.holds.delete(holdMember(reservationId, s.held))) c.held -= s.held;
        c.used += s.usedDelta;
        c.expiresAt = Math.max(c.expiresAt, now + s.ttlMs);
        this.counters.set(s.key, c);
        return c.used;
      }),
    );
  }

  read(key: string, now: number): Promise<CounterState> {
    const c = this.counter(key, now);
    return Promise.resolve({ used: c.used, held: c.held });
  }

  once(key: string, ttlMs: number): Promise<boolean> {
    const now = this.clock();
    const until = this.onceKeys.get(key);
    if (until !== undefined && until > now) return Promise.resolve(false);
    this.onceKeys.set(key, now + ttlMs);
    return Promise.resolve(true);
  }

  /** The live counter, with expired holds released; a fresh one if absent or expired. */
  private counter(key: string, now: number): Counter {
    let c = this.counters.get(key);
    if (!c || c.expiresAt <= now) {
      c = { used: 0, held: 0, holds: new Map(), expiresAt: 0 };
      return c;
    }
    for (const [member, expiry] of c.holds) {
      if (expiry <= now) {
        c.holds.delete(member);
        c.held -= Number(member.slice(member.lastIndexOf('|') + 1));
      }
    }
    return c;
  }

  private sweep(now: number): void {
    for (const [key, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(key);
    for (const [key, until] of this.onceKeys) if (until <= now) this.onceKeys.delete(key);
  }
}
