import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Principal } from 'src/common/auth/principal';
import { AppConfig, loadAppConfig } from 'src/config/env.config';
import { CacheLookup } from 'src/modules/cache/cache-lookup';
import { CachePolicyInput } from 'src/modules/cache/cache-policy';
import { CachePolicyRepository } from 'src/modules/cache/cache-policy.repository';
import { CachePolicyService } from 'src/modules/cache/cache-policy.service';
import { CacheStatsService } from 'src/modules/cache/cache-stats.service';
import { CacheCaller, CacheService } from 'src/modules/cache/cache.service';
import { CacheStore } from 'src/modules/cache/cache.store';
import { CACHE_HIT_EVENT, CacheHitEvent } from 'src/modules/cache/cache.events';
import { MemoryCacheStore } from 'src/modules/cache/memory-cache.store';
import { ChatCompletion, ChatRequest } from 'src/modules/providers/provider-adapter';
import { EndpointEntry } from 'src/modules/routing/route-table';
import { principalFixture } from 'test/fixtures/principal.fixture';

function principal(teamId: string, apiKeyId: string): Principal {
  return principalFixture({ id: apiKeyId, name: apiKeyId, teamId, apiKeyId });
}

function http(principal?: Principal, headers: Record<string, string> = {}): CacheCaller {
  return { requestId: 'req-1', headers, principal };
}

const answer: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
};

const request: ChatRequest = { messages: [{ role: 'user', content: 'hello' }], temperature: 0 };

function setup(options: { store?: CacheStore; cache?: CachePolicyInput; env?: Record<string, string> } = {}) {
  const config: AppConfig = loadAppConfig({ CACHE_SINGLE_FLIGHT_WAIT_MS: '2000', ...options.env });
  const repository = {
    list: async () => new Map<string, CachePolicyInput>(),
  } as unknown as CachePolicyRepository;
  const policies = new CachePolicyService(config, repository);
  const stats = new CacheStatsService();
  const events = new EventEmitter2();
  const hits: CacheHitEvent[] = [];
  events.on(CACHE_HIT_EVENT, (event: CacheHitEvent) => hits.push(event));
  const store = options.store ?? new MemoryCacheStore(1_000_000, 100_000);
  const service = new CacheService(config, store, policies, stats, events);
  const endpoint = {
    name: 'chat',
    provider: 'openai',
    modelName: 'gpt-4o-mini',
    cache: options.cache ?? {},
  } as unknown as EndpointEntry;
  let upstreamCalls = 0;
  /** What the inference service does for one request: look up, call upstream on a miss, release. */
  const call = async (req: CacheCaller, delayMs = 0, fail = false): Promise<CacheLookup> => {
    const lookup = await service.lookup({ op: 'chat', request, endpoint, caller: req });
    try {
      if (!lookup.hit) {
        upstreamCalls++;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (fail) throw new Error('upstream failed');
        lookup.fill({ ...answer });
      }
    } catch {
      // the request failed; the cache must still be released
    } finally {
      lookup.release();
    }
    return lookup;
  };
  return { service, stats, hits, events, call, upstream: () => upstreamCalls };
}

describe('CacheService', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('keeps teams apart: same prompt, two teams → two upstream calls; same team → a hit', async () => {
    const { call, upstream, hits } = setup();
    expect((await call(http(principal('team-a', 'key-1')))).status).toBe('miss');
    expect((await call(http(principal('team-b', 'key-2')))).status).toBe('miss');
    expect(upstream()).toBe(2);
    const again = await call(http(principal('team-a', 'key-3')));
    expect(again.status).toBe('hit');
    expect(again.replayResponse()).toEqual(answer);
    expect(upstream()).toBe(2);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({
      teamId: 'team-a',
      apiKeyId: 'key-3',
      usage: answer.usage,
      shared: false,
    });
  });

  it('shares across teams only when the scope is global', async () => {
    const { call, upstream } = setup({ cache: { scope: 'global' } });
    await call(http(principal('team-a', 'key-1')));
    expect((await call(http(principal('team-b', 'key-2')))).status).toBe('hit');
    expect(upstream()).toBe(1);
  });

  it('collapses 100 identical concurrent requests into one upstream call', async () => {
    const { call, upstream, stats } = setup();
    const results = await Promise.all(Array.from({ length: 100 }, () => call(http(), 30)));
    expect(upstream()).toBe(1);
    expect(results.filter((r) => r.status === 'miss')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'hit')).toHaveLength(99);
    expect(stats.snapshot()).toMatchObject({ hits: 99, sharedHits: 99, misses: 1, tokensSaved: 99 * 3 });
    expect(results[50].replayResponse()).toEqual(answer);
  });

  it('lets one waiting request take over when the first one fails, and never caches the failure', async () => {
    const { call, upstream } = setup();
    const first = call(http(), 20, true);
    const waiting = Array.from({ length: 5 }, () => call(http(), 20));
    await Promise.all([first, ...waiting]);
    expect(upstream()).toBe(2);
  });

  it('waits only CACHE_SINGLE_FLIGHT_WAIT_MS for an in-flight request', async () => {
    const { call, upstream } = setup({ env: { CACHE_SINGLE_FLIGHT_WAIT_MS: '20' } });
    // The leader takes 2 s; the follower gives up after 20 ms (1 s allowed for a busy machine's timers).
    const slow = call(http(), 2_000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    const follower = await call(http());
    expect(follower.status).toBe('miss');
    expect(Date.now() - started).toBeLessThan(1_000);
    await slow;
    expect(upstream()).toBe(2);
  });

  it('honours Cache-Control no-store (no read, no write) and no-cache (no read, refresh)', async () => {
    const { call, upstream } = setup();
    expect((await call(http(undefined, { 'cache-control': 'no-store' }))).status).toBe('bypass');
    expect((await call(http())).status).toBe('miss');
    expect((await call(http(undefined, { 'cache-control': 'max-age=0, no-cache' }))).status).toBe('bypass');
    expect((await call(http())).status).toBe('hit');
    expect(upstream()).toBe(3);
  });

  it('turns store failures into misses', async () => {
    const broken: CacheStore = {
      kind: 'redis',
      get: () => Promise.reject(new Error('Command timed out')),
      set: () => Promise.reject(new Error('Command timed out')),
      invalidate: () => Promise.reject(new Error('down')),
    };
    const { call, upstream, stats } = setup({ store: broken });
    expect((await call(http())).status).toBe('miss');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await call(http())).status).toBe('miss');
    expect(upstream()).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stats.snapshot().storeErrors).toBe(4);
  });

  it('still answers a hit when a cache.hit listener throws', async () => {
    const { call, events } = setup();
    events.on(CACHE_HIT_EVENT, () => {
      throw new Error('billing is down');
    });
    await call(http());
    const hit = await call(http());
    expect(hit.status).toBe('hit');
    expect(hit.replayResponse()).toEqual(answer);
  });

  it('sends no header when the endpoint does not cache', async () => {
    const { call } = setup({ cache: { enabled: false } });
    expect((await call(http())).status).toBeUndefined();
  });

  describe('model predictions', () => {
    const predictions = '{"predictions": [0, 2]}';
    const body = { json: { dataframe_split: { columns: ['a'], data: [[1], [2]] } } };

    function predictor(cache: CachePolicyInput | undefined) {
      const { service, stats } = setup();
      let scored = 0;
      /** What ModelServingService does for one request. */
      const predict = async (version: string, options: { fail?: boolean; req?: CacheCaller } = {}) => {
        const lookup = await service.lookupPrediction({
          endpoint: { name: 'iris', cache },
          registeredModel: 'iris-model',
          version,
          body,
          caller: options.req ?? http(principal('team-a', 'key-1')),
        });
        let json: string | undefined;
        try {
          if (lookup.hit) json = lookup.replayPrediction();
          else {
            scored++;
            if (options.fail) throw new Error('scoring failed');
            json = lookup.fillPrediction(`${predictions.slice(0, -1)}, "v": ${version}}`);
          }
        } catch {
          // an error answer: nothing is filled
        } finally {
          lookup.release();
        }
        return { status: lookup.status, json };
      };
      return { predict, scored: () => scored, stats };
    }

    it('replays the scoring answer verbatim for the same version, and calls again for a new one', async () => {
      const { predict, scored } = predictor({});
      const first = await predict('1');
      expect(first.status).toBe('miss');
      const again = await predict('1');
      expect(again).toEqual({ status: 'hit', json: first.json });
      expect(scored()).toBe(1);
      const moved = await predict('2');
      expect(moved.status).toBe('miss');
      expect(moved.json).not.toBe(first.json);
      expect(scored()).toBe(2);
    });

    it('never caches a failed prediction, and is off without a policy', async () => {
      const { predict, scored } = predictor({});
      expect((await predict('1', { fail: true })).status).toBe('miss');
      expect((await predict('1')).status).toBe('miss');
      expect(scored()).toBe(2);
      const off = predictor(undefined);
      expect((await off.predict('1')).status).toBeUndefined();
      expect((await off.predict('1')).status).toBeUndefined();
      expect(off.scored()).toBe(2);
    });

    it('honours no-store and keeps teams apart', async () => {
      const { predict, scored } = predictor({});
      await predict('1');
      const noStore = await predict('1', {
        req: http(principal('team-a', 'key-1'), { 'cache-control': 'no-store' }),
      });
      expect(noStore.status).toBe('bypass');
      expect((await predict('1', { req: http(principal('team-b', 'key-2')) })).status).toBe('miss');
      expect(scored()).toBe(3);
    });
  });
});
