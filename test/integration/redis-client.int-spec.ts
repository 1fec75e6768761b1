import { createServer } from 'node:net';
import { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { loadAppConfig } from 'src/config/env.config';
import { RedisClient } from 'src/infra/redis/redis.client';
import { redisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from 'test/e2e/support/redis-prefix';
import { waitFor } from 'test/e2e/support/test-gateway';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('RedisClient against the local Redis', () => {
  const prefix = uniqueRedisPrefix('redis-client');

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  afterAll(async () => {
    await redisKeys(prefix, true);
  });

  it('is absent without REDIS_URL', async () => {
    const client = new RedisClient(loadAppConfig({}));
    await client.onModuleInit();
    expect(client.configured).toBe(false);
    expect(client.ready).toBeUndefined();
    expect(client.prefix).toBe('gatehouse:');
    await client.onApplicationShutdown();
  });

  it('connects at start-up and runs commands under its prefix and database index', async () => {
    const client = new RedisClient(
      loadAppConfig({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, REDIS_DB_INDEX: '0' }),
    );
    await client.onModuleInit();
    const redis = client.ready;
    expect(redis).toBeDefined();
    expect(redis!.options.db).toBe(0);
    expect(redis!.options.commandTimeout).toBe(50);
    await redis!.set(`${client.prefix}probe`, 'v', 'PX', 10_000);
    expect(await redis!.get(`${client.prefix}probe`)).toBe('v');
    expect(await redisKeys(prefix)).toBe(1);
    await client.onApplicationShutdown();
    await waitFor(() => client.ready === undefined, 2_000);
  });

  it('starts without a reachable Redis and fails commands at once instead of queueing them', async () => {
    const port = await freePort();
    const client = new RedisClient(loadAppConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    const started = Date.now();
    await client.onModuleInit();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(client.configured).toBe(true);
    expect(client.ready).toBeUndefined();
    await client.onApplicationShutdown();
  });

  it('rejects a bad prefix or database index at boot', () => {
    expect(() => loadAppConfig({ REDIS_KEY_PREFIX: 'has space' })).toThrow('REDIS_KEY_PREFIX');
    expect(() => loadAppConfig({ REDIS_DB_INDEX: '16' })).toThrow('REDIS_DB_INDEX');
  });
});
