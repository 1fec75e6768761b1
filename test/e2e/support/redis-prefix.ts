import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/** The Redis running on this machine; tests only ever touch keys under their own prefix. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniqueRedisPrefix(label: string): string {
  return `gatehouse-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Counts, or deletes, the keys under a prefix (SCAN + UNLINK; never FLUSHDB on the shared Redis). */
export async function redisKeys(prefix: string, remove = false): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
      if (remove && keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    return count;
  } finally {
    redis.disconnect();
  }
}
