import { RedisClient } from 'src/infra/redis/redis.client';
import { WebhookDeliveries } from 'src/modules/registry/webhook-deliveries';

describe('WebhookDeliveries (no Redis: this replica remembers)', () => {
  const deliveries = () =>
    new WebhookDeliveries({ ready: undefined, prefix: 't:' } as unknown as RedisClient);

  it('accepts a delivery once within its window and refuses the replay', async () => {
    const seen = deliveries();
    const now = 1_000_000;
    expect(await seen.firstSeen('d-1', '1000', now)).toBe(true);
    expect(await seen.firstSeen('d-1', '1000', now + 1_000)).toBe(false);
    expect(await seen.firstSeen('d-1', '1000', now + 599_000)).toBe(false);
    // Another delivery, or the same id at another signed timestamp, is a different delivery.
    expect(await seen.firstSeen('d-2', '1000', now)).toBe(true);
    expect(await seen.firstSeen('d-1', '1001', now)).toBe(true);
  });

  it('forgets a delivery once its signature has expired anyway (10 minutes)', async () => {
    const seen = deliveries();
    expect(await seen.firstSeen('d-1', '1000', 0)).toBe(true);
    expect(await seen.firstSeen('d-1', '1000', 600_001)).toBe(true);
  });
});
