import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Agent, request } from 'undici';
import { HealthState } from 'src/modules/registry/model-endpoint.resolver';

interface UrlHealth {
  state: HealthState;
  failures: number;
  checkedAt: number;
}

/** A scoring server that was up is marked down after this many failed pings in a row. */
const FAILURES_TO_DOWN = 2;
const PING_TIMEOUT_MS = 2_000;

/**
 * The health view of scoring servers (`GET <url>/ping`, as `mlflow models serve` answers it). Probes
 * run in the background; the request path only reads the resulting state.
 */
@Injectable()
export class ServingHealthMonitor implements OnModuleDestroy {
  private readonly health = new Map<string, UrlHealth>();
  private readonly agent = new Agent({ connections: 4, connect: { timeout: PING_TIMEOUT_MS } });

  state(url: string): HealthState {
    return this.health.get(url)?.state ?? 'unknown';
  }

  known(url: string): boolean {
    return this.health.has(url);
  }

  /** Pings every URL once (concurrently); returns true when any URL's state changed. */
  async probe(urls: Iterable<string>): Promise<boolean> {
    const unique = [...new Set(urls)];
    const results = await Promise.all(unique.map(async (url) => [url, await this.ping(url)] as const));
    let changed = false;
    for (const [url, ok] of results) {
      const previous = this.health.get(url);
      const failures = ok ? 0 : (previous?.failures ?? 0) + 1;
      const wasUp = previous?.state === 'up';
      const state: HealthState = ok ? 'up' : wasUp && failures < FAILURES_TO_DOWN ? 'up' : 'down';
      if (state !== previous?.state) changed = true;
      this.health.set(url, { state, failures, checkedAt: Date.now() });
    }
    return changed;
  }

  /** Forgets URLs no endpoint uses any more. */
  retain(urls: Iterable<string>): void {
    const keep = new Set(urls);
    for (const url of [...this.health.keys()]) if (!keep.has(url)) this.health.delete(url);
  }

  private async ping(url: string): Promise<boolean> {
    try {
      const response = await request(`${url}/ping`, {
        dispatcher: this.agent,
        method: 'GET',
        headersTimeout: PING_TIMEOUT_MS,
        bodyTimeout: PING_TIMEOUT_MS,
        signal: AbortSignal.timeout(PING_TIMEOUT_MS),
      });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
