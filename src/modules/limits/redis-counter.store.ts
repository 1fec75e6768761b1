import Redis from 'ioredis';
import {
  CounterOp,
  CounterSettlement,
  CounterState,
  CounterStore,
  ReserveResult,
} from 'src/modules/limits/counter.store';

/**
 * Each counter is a hash {used, held} plus a sorted set of holds (member `reservation|amount`, score =
 * expiry). Every script first releases expired holds (a crashed replica's), so what a dead replica held
 * comes back by itself. KEYS = n hashes then n hold sets.
 */
const PURGE = `
local function purge(h, z, now)
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #expired > 0 then
    local sum = 0
    for _, m in ipairs(expired) do sum = sum + tonumber(string.match(m, '|(%-?%d+)$')) end
    redis.call('HINCRBY', h, 'held', -sum)
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  end
end
`;

/**
 * ARGV: now, reservation id, hold ttl, stale-after (epoch ms), then per counter: limit, amount, mode (0 add,
 * 1 hold), ttl. A script that only runs after stale-after (it sat in a frozen Redis's socket buffer while
 * the caller gave up) changes nothing and returns {-1}.
 */
const RESERVE = `${PURGE}
local now = tonumber(ARGV[1])
local id = ARGV[2]
local holdTtl = tonumber(ARGV[3])
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[4]) then
  return {-1}
end
local n = #KEYS / 2
for i = 1, n do
  purge(KEYS[i], KEYS[n + i], now)
  local base = 5 + (i - 1) * 4
  local limit = tonumber(ARGV[base])
  local amount = tonumber(ARGV[base + 1])
  local used = tonumber(redis.call('HGET', KEYS[i], 'used') or '0')
  local held = tonumber(redis.call('HGET', KEYS[i], 'held') or '0')
  if limit >= 0 and used + held + amount > limit then
    return {i, used, held}
  end
end
local out = {0}
for i = 1, n do
  local base = 5 + (i - 1) * 4
  local amount = tonumber(ARGV[base + 1])
  local ttl = tonumber(ARGV[base + 3])
  if ARGV[base + 2] == '0' then
    redis.call('HINCRBY', KEYS[i], 'used', amount)
  else
    redis.call('HINCRBY', KEYS[i], 'held', amount)
    redis.call('ZADD', KEYS[n + i], now + holdTtl, id .. '|' .. ARGV[base + 1])
    if redis.call('PTTL', KEYS[n + i]) < ttl then redis.call('PEXPIRE', KEYS[n + i], ttl) end
  end
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[i], 'used') or '0')
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[i], 'held') or '0')
end
return out
`;

/** ARGV: now, reservation id, then per counter: held amount, used delta, ttl. Returns used after, per counter. */
const SETTLE = `${PURGE}
local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local held = tonumber(ARGV[base])
  local delta = tonumber(ARGV[base + 1])
  local ttl = tonumber(ARGV[base + 2])
  purge(KEYS[i], KEYS[n + i], now)
  if held > 0 and redis.call('ZREM', KEYS[n + i], id .. '|' .. ARGV[base]) == 1 then
    redis.call('HINCRBY', KEYS[i], 'held', -held)
  end
  if delta ~= 0 then redis.call('HINCRBY', KEYS[i], 'used', delta) end
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
  out[i] = tonumber(redis.call('HGET', KEYS[i], 'used') or '0')
end
return out
`;

/** ARGV: now. Returns {used, held} after releasing expired holds. */
const READ = `${PURGE}
purge(KEYS[1], KEYS[2], tonumber(ARGV[1]))
return {tonumber(redis.call('HGET', KEYS[1], 'used') or '0'), tonumber(redis.call('HGET', KEYS[1], 'held') or '0')}
`;

interface LimitCommands {
  gatehouseReserve(...args: (string | number)[]): Promise<number[]>;
  gatehouseSettle(...args: (string | number)[]): Promise<number[]>;
  gatehouseRead(...args: (string | number)[]): Promise<number[]>;
}

/**
 * A reservation script that reaches Redis later than this after it was sent does nothing. Past the store's
 * own timeout a late reply is undone by the caller (see `reserve`), but past the connection's command
 * timeout (this value plus a margin, so a script that ran in time has its reply read) ioredis drops the
 * reply, so the script itself must refuse to run.
 */
export const STALE_AFTER_MS = 5_000;

/** Registers the scripts on a connection (EVALSHA, falling back to EVAL once per connection). */
export function defineLimitCommands(redis: Redis): void {
  redis.defineCommand('gatehouseReserve', { lua: RESERVE });
  redis.defineCommand('gatehouseSettle', { lua: SETTLE });
  redis.defineCommand('gatehouseRead', { numberOfKeys: 2, lua: READ });
}

/** Counters shared by every replica: each call is one Lua script, so checks and changes are one atomic step. */
export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis' as const;

  constructor(
    /** The connection (with the commands defined), or undefined while it is not ready. */
    private readonly connection: () => (Redis & LimitCommands) | undefined,
    private readonly prefix: string,
    private readonly clock: () => number = Date.now,
    private readonly timeoutMs = 200,
  ) {}

  async reserve(
    reservationId: string,
    ops: readonly CounterOp[],
    now: number,
    holdTtlMs: number,
  ): Promise<ReserveResult> {
    const redis = this.require();
    const keys = [...ops.map((op) => this.prefix + op.key), ...ops.map((op) => `${this.prefix}${op.key}:h`)];
    const args: (string | number)[] = [now, reservationId, holdTtlMs, Date.now() + STALE_AFTER_MS];
    for (const op of ops) args.push(op.limit, op.amount, op.mode === 'add' ? 0 : 1, op.ttlMs);
    const pending = redis.gatehouseReserve(keys.length, ...keys, ...args);
    let out: number[];
    try {
      out = await this.timed(pending);
    } catch (error) {
      // We gave up (the caller is refused or falls back to local caps), but the script may still run
      // when a frozen or slow Redis catches up: undo what it reserved, or it would hold budget and
      // count requests nobody settles until the hold TTL.
      void pending
        .then((late) => (late[0] === 0 ? this.undo(reservationId, ops) : undefined))
        .catch(() => undefined);
      throw error;
    }
    // Redis's clock is more than STALE_AFTER_MS ahead of ours: nothing was reserved; fall back.
    if (out[0] === -1)
      throw new Error('redis reservation refused as stale (clock skew between gateway and Redis?)');
    if (out[0] !== 0) return { ok: false, index: out[0] - 1, state: { used: out[1], held: out[2] } };
    const after: CounterState[] = [];
    for (let i = 0; i < ops.length; i++) after.push({ used: out[1 + 2 * i], held: out[2 + 2 * i] });
    return { ok: true, after };
  }

  /** Reverses a reservation the caller never saw succeed: holds released, counted amounts taken back. */
  private async undo(reservationId: string, ops: readonly CounterOp[]): Promise<void> {
    await this.settle(
      reservationId,
      ops.map((op) => ({
        key: op.key,
        held: op.mode === 'hold' ? op.amount : 0,
        usedDelta: op.mode === 'add' ? -op.amount : 0,
        ttlMs: op.ttlMs,
      })),
    );
  }

  async settle(reservationId: string, settlements: readonly CounterSettlement[]): Promise<number[]> {
    if (settlements.length === 0) return [];
    const redis = this.require();
    const keys = [
      ...settlements.map((s) => this.prefix + s.key),
      ...settlements.map((s) => `${this.prefix}${s.key}:h`),
    ];
    const args: (string | number)[] = [this.clock(), reservationId];
    for (const s of settlements) args.push(s.held, s.usedDelta, s.ttlMs);
    return this.timed(redis.gatehouseSettle(keys.length, ...keys, ...args));
  }

  async read(key: string, now: number): Promise<CounterState> {
    const out = await this.timed(
      this.require().gatehouseRead(`${this.prefix}${key}`, `${this.prefix}${key}:h`, now),
    );
    return { used: out[0], held: out[1] };
  }

  async once(key: string, ttlMs: number): Promise<boolean> {
    return (await this.timed(this.require().set(`${this.prefix}${key}`, '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }

  /**
   * Fails after `timeoutMs`, but only once pending I/O has been read: when our own event loop was blocked
   * (a tokenizer loading, a burst of requests), a reply that did arrive in time is not taken for a dead Redis.
   */
  private timed<T>(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (!done) reject(new Error(`redis command timed out after ${this.timeoutMs} ms`));
        });
      }, this.timeoutMs);
      pending.then(
        (value) => {
          done = true;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          done = true;
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private require(): Redis & LimitCommands {
    const redis = this.connection();
    if (!redis) throw new Error('redis not ready');
    return redis;
  }
}
