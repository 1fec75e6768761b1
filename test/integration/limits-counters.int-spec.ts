import Redis from 'ioredis';
import { CounterOp, CounterStore } from 'src/modules/limits/counter.store';
import { MemoryCounterStore } from 'src/modules/limits/memory-counter.store';
import { defineLimitCommands, RedisCounterStore } from 'src/modules/limits/redis-counter.store';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';

/** The same scenarios against the Lua scripts (real Redis) and the in-process store: same answers. */
describe('counter stores: Redis Lua and in-memory parity', () => {
  let redis: Redis;
  const prefix = uniqueRedisPrefix('limits-counters');
  let now = 1_800_000_000_000;
  const clock = () => now;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    await redis.connect();
    defineLimitCommands(redis);
  });

  afterAll(async () => {
    await redisKeys(prefix, true);
    redis.disconnect();
  });

  const stores = (): [string, CounterStore][] => [
    ['memory', new MemoryCounterStore(clock)],
    ['redis', new RedisCounterStore(() => redis as never, `${prefix}${Math.random()}:`, clock)],
  ];

  const op = (key: string, limit: number, amount: number, mode: 'add' | 'hold' = 'add'): CounterOp => ({
    key,
    limit,
    amount,
    mode,
    ttlMs: 60_000,
  });

  it.each(stores())('%s: all-or-nothing reservation across counters, limits exact', async (_, store) => {
    const results = [];
    for (let i = 0; i < 7; i++) {
      results.push(await store.reserve(`r${i}`, [op('a', 5, 1), op('b', 100, 20)], now, 10_000));
    }
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, false, false]);
    // The 6th is refused by counter a; counter b did not move for it.
    expect(results[5]).toEqual({ ok: false, index: 0, state: { used: 5, held: 0 } });
    expect(await store.read('b', now)).toEqual({ used: 100, held: 0 });
    const refusedByB = await store.reserve('x', [op('c', 10, 1), op('b', 100, 1)], now, 10_000);
    expect(refusedByB).toEqual({ ok: false, index: 1, state: { used: 100, held: 0 } });
    expect(await store.read('c', now)).toEqual({ used: 0, held: 0 });
  });

  it.each(stores())(
    '%s: holds are released by settlement once, and expire when never settled',
    async (_, store) => {
      expect((await store.reserve('h1', [op('budget', 1000, 400, 'hold')], now, 5_000)).ok).toBe(true);
      expect((await store.reserve('h2', [op('budget', 1000, 400, 'hold')], now, 5_000)).ok).toBe(true);
      expect((await store.reserve('h3', [op('budget', 1000, 400, 'hold')], now, 5_000)).ok).toBe(false);
      expect(await store.read('budget', now)).toEqual({ used: 0, held: 800 });
      // h1 settles at a real cost of 150: its hold goes, its cost stays. A second settle changes nothing held.
      expect(await store.settle('h1', [{ key: 'budget', held: 400, usedDelta: 150, ttlMs: 60_000 }])).toEqual(
        [150],
      );
      expect(await store.read('budget', now)).toEqual({ used: 150, held: 400 });
      await store.settle('h1', [{ key: 'budget', held: 400, usedDelta: 0, ttlMs: 60_000 }]);
      expect(await store.read('budget', now)).toEqual({ used: 150, held: 400 });
      // h2's replica "crashed": after the hold TTL the room comes back by itself.
      now += 5_001;
      expect(await store.read('budget', now)).toEqual({ used: 150, held: 0 });
      expect((await store.reserve('h4', [op('budget', 1000, 800, 'hold')], now, 5_000)).ok).toBe(true);
      // Settling an expired hold does not release it twice.
      await store.settle('h2', [{ key: 'budget', held: 400, usedDelta: 0, ttlMs: 60_000 }]);
      expect(await store.read('budget', now)).toEqual({ used: 150, held: 800 });
    },
  );

  it.each(stores())(
    '%s: token settlement moves used by the difference; limit -1 never refuses',
    async (_, store) => {
      const first = await store.reserve('t1', [op('tokens', 1000, 600)], now, 5_000);
      expect(first).toEqual({ ok: true, after: [{ used: 600, held: 0 }] });
      await store.settle('t1', [{ key: 'tokens', held: 0, usedDelta: -450, ttlMs: 60_000 }]);
      expect(await store.read('tokens', now)).toEqual({ used: 150, held: 0 });
      expect((await store.reserve('t2', [op('soft', -1, 1e12, 'hold')], now, 5_000)).ok).toBe(true);
      expect(await store.once('alert', 60_000)).toBe(true);
      expect(await store.once('alert', 60_000)).toBe(false);
    },
  );

  it('redis: 200 concurrent reservations against room for 10 admit exactly 10', async () => {
    const store = new RedisCounterStore(() => redis as never, `${prefix}race:`, clock);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.reserve(`c${i}`, [op('room', 10_000, 1_000, 'hold')], now, 60_000),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(await store.read('room', now)).toEqual({ used: 0, held: 10_000 });
  });

  it('redis: a reservation whose reply comes after the timeout is undone, not left held', async () => {
    // The script runs at once but its reply reaches the store late (Redis frozen, then resumed).
    const late = new Proxy(redis, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (prop !== 'gatehouseReserve' || typeof value !== 'function') {
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return (...args: unknown[]) => {
          const reply = (value as (...a: unknown[]) => Promise<number[]>).apply(target, args);
          return new Promise((resolve) => setTimeout(() => resolve(reply), 300));
        };
      },
    });
    const store = new RedisCounterStore(() => late as never, `${prefix}late:`, clock, 50);
    await expect(
      store.reserve('slow1', [op('budget', 10_000, 1_000, 'hold'), op('requests', 100, 1)], now, 60_000),
    ).rejects.toThrow('timed out');
    const reader = new RedisCounterStore(() => redis as never, `${prefix}late:`, clock);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await reader.read('budget', now)).held !== 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await reader.read('budget', now)).toEqual({ used: 0, held: 0 });
    expect(await reader.read('requests', now)).toEqual({ used: 0, held: 0 });
    // A reply that did arrive in time is kept.
    expect((await reader.reserve('fast', [op('budget', 10_000, 1_000, 'hold')], now, 60_000)).ok).toBe(true);
    expect(await reader.read('budget', now)).toEqual({ used: 0, held: 1_000 });
  });

  it('redis: a reservation script that runs after its stale-after time changes nothing', async () => {
    const key = `${prefix}stale:budget`;
    const reserve = (
      redis as unknown as { gatehouseReserve(...args: (string | number)[]): Promise<number[]> }
    ).gatehouseReserve;
    // ARGV: now, id, hold ttl, stale-after, then limit, amount, mode (1 = hold), ttl.
    const stale = await reserve.call(
      redis,
      2,
      key,
      `${key}:h`,
      now,
      's1',
      60_000,
      Date.now() - 1,
      1_000,
      400,
      1,
      60_000,
    );
    expect(stale).toEqual([-1]);
    const fresh = await reserve.call(
      redis,
      2,
      key,
      `${key}:h`,
      now,
      's2',
      60_000,
      Date.now() + 5_000,
      1_000,
      400,
      1,
      60_000,
    );
    expect(fresh).toEqual([0, 0, 400]);
    const reader = new RedisCounterStore(() => redis as never, `${prefix}stale:`, clock);
    expect(await reader.read('budget', now)).toEqual({ used: 0, held: 400 });
  });
});
