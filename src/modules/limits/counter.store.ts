/**
 * One counter change in a reservation. `add` counts at once (requests, reserved tokens: settled later
 * by a delta on `used`); `hold` is a lease (concurrency slots, budget reservations) that the settlement
 * releases and that expires by itself if the replica holding it dies.
 */
export interface CounterOp {
  /** Counter key without the Redis prefix, e.g. `lim:<rule>:<subject>:<windowStart>`. */
  key: string;
  /** Refuse when used + held + amount would exceed this; -1 = never refuse (soft budgets). */
  limit: number;
  amount: number;
  mode: 'add' | 'hold';
  /** The counter expires this long after its last change (end of its window plus slack). */
  ttlMs: number;
}

export interface CounterState {
  used: number;
  held: number;
}

export type ReserveResult =
  { ok: true; after: CounterState[] } | { ok: false; index: number; state: CounterState };

export interface CounterSettlement {
  key: string;
  /** The amount this reservation held on the counter (0 for `add` counters). */
  held: number;
  /** Change to `used` (actual − reserved for tokens; actual cost for budgets). */
  usedDelta: number;
  ttlMs: number;
}

/** An atomic multi-counter store: every check and change of one call happens as one step. */
export interface CounterStore {
  readonly kind: 'redis' | 'memory';
  /** All-or-nothing: refuses without changing anything if any counter would pass its limit. */
  reserve(
    reservationId: string,
    ops: readonly CounterOp[],
    now: number,
    holdTtlMs: number,
  ): Promise<ReserveResult>;
  /** Releases this reservation's holds (if not already expired) and applies `usedDelta`; returns `used` after. */
  settle(reservationId: string, settlements: readonly CounterSettlement[]): Promise<number[]>;
  read(key: string, now: number): Promise<CounterState>;
  /** True the first time it is called for `key` within `ttlMs` (once-per-window alerts). */
  once(key: string, ttlMs: number): Promise<boolean>;
}

export const holdMember = (reservationId: string, amount: number): string => `${reservationId}|${amount}`;
