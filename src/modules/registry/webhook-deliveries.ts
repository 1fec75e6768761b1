import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisClient } from 'src/infra/redis/redis.client';
import { MAX_SKEW_SECONDS } from 'src/modules/registry/webhook-signature';

/** A delivery's timestamp may be up to MAX_SKEW_SECONDS either side of now: remember it that long twice. */
const WINDOW_MS = 2 * MAX_SKEW_SECONDS * 1000;
const MAX_LOCAL = 100_000;

/**
 * Signed webhook deliveries already accepted, for as long as their signature stays valid, so a captured
 * delivery cannot be replayed within its window. In Redis (`SET NX`, shared by every replica) when it is
 * up, else in this process (bounded; oldest forgotten first, which are also the first to expire).
 */
@Injectable()
export class WebhookDeliveries {
  private readonly local = new Map<string, number>();

  constructor(private readonly redis: RedisClient) {}

  /** True the first time this delivery (id and timestamp) is seen within its window. */
  async firstSeen(deliveryId: string, timestamp: string, now: number = Date.now()): Promise<boolean> {
    const id = createHash('sha256').update(`${deliveryId}\n${timestamp}`).digest('base64url');
    const redis = this.redis.ready;
    if (redis) {
      try {
        const set = await redis.set(`${this.redis.prefix}webhook:${id}`, '1', 'PX', WINDOW_MS, 'NX');
        return set === 'OK';
      } catch {
        // Redis failed mid-call: this replica's memory still refuses replays it has seen.
      }
    }
    return this.rememberLocally(id, now);
  }

  private rememberLocally(id: string, now: number): boolean {
    for (const [key, expires] of this.local) {
      if (expires > now && this.local.size < MAX_LOCAL) break;
      this.local.delete(key);
    }
    const expires = this.local.get(id);
    if (expires !== undefined && expires > now) return false;
    this.local.set(id, now + WINDOW_MS);
    return true;
  }
}
