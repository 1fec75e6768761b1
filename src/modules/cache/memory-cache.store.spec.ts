import { MemoryCacheStore } from 'src/modules/cache/memory-cache.store';

const key = (endpoint: string, owner: string, n: number) =>
  `cache:v1:${endpoint}:${owner}:${String(n).padStart(64, '0')}`;

describe('MemoryCacheStore', () => {
  it('stays within its byte budget by evicting the least recently used entries', async () => {
    const store = new MemoryCacheStore(10_000, 5_000);
    for (let i = 0; i < 20; i++) await store.set(key('e', 'g', i), Buffer.alloc(1_000), 60_000);
    expect(store.usage().bytes).toBeLessThanOrEqual(10_000);
    expect(store.usage().entries).toBeLessThan(20);
    expect(await store.get(key('e', 'g', 0))).toBeUndefined();
    expect(await store.get(key('e', 'g', 19))).toHaveLength(1_000);
    // Larger than one entry may be: not stored at all.
    await store.set(key('e', 'g', 99), Buffer.alloc(6_000), 60_000);
    expect(await store.get(key('e', 'g', 99))).toBeUndefined();
  });

  it('expires entries after their TTL', async () => {
    const store = new MemoryCacheStore(10_000, 5_000);
    await store.set(key('e', 'g', 1), Buffer.from('x'), 30);
    expect(await store.get(key('e', 'g', 1))).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await store.get(key('e', 'g', 1))).toBeUndefined();
  });

  it('invalidates by endpoint, by team and all', async () => {
    const store = new MemoryCacheStore(100_000, 5_000);
    const keys = [key('a', 't.x', 1), key('a', 't.y', 2), key('b', 't.x.k.k1', 3), key('b', 'g', 4)];
    const fill = async () => {
      for (const k of keys) await store.set(k, Buffer.from('v'), 60_000);
    };
    await fill();
    expect(await store.invalidate({ endpoint: 'a' })).toBe(2);
    expect(await store.get(keys[2])).toBeDefined();
    await fill();
    expect(await store.invalidate({ teamId: 'x' })).toBe(2);
    expect(await store.get(keys[1])).toBeDefined();
    expect(await store.get(keys[3])).toBeDefined();
    await fill();
    expect(await store.invalidate({})).toBe(4);
    expect(store.usage()).toEqual({ entries: 0, bytes: 0 });
  });
});
