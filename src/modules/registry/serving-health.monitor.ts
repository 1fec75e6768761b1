import { Injectable } from '@nestjs/common';
import { request } from 'undici';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { HealthState, ServingProbe } from 'src/modules/registry/model-endpoint.resolver';

interface UrlHealth {
  state: HealthState;
  failures: number;
  checkedAt: number;
}

/** Defaults when an endpoint sets no `gatehouse.health_check`: `/ping`, down after 2 failures, 2 s timeout. */
const DEFAULT_PATH = '/ping';
const FAILURES_TO_DOWN = 2;
const PING_TIMEOUT_MS = 2_000;

/**
 * The health view of scoring servers (`GET <url>/ping`, as `mlflow models serve` answers it, or the
 * endpoint's `gatehouse.health_check`: path, timeout, unhealthy_threshold, interval_ms). Probes run in
 * the background; the request path only reads the resulting state. A server never seen up is down
 * after one failed probe (no traffic goes to a version that was never reachable).
 */
@Injectable()
export class ServingHealthMonitor {
  private readonly health = new Map<string, UrlHealth>();

  constructor(private readonly http: UpstreamHttpClient) {}

  state(url: string): HealthState {
    return this.health.get(url)?.state ?? 'unknown';
  }

  known(url: string): boolean {
    return this.health.has(url);
  }

  /** The probes whose interval (their check's, else `defaultIntervalMs`) has passed since their last one. */
  due(probes: readonly ServingProbe[], defaultIntervalMs: number, now = Date.now()): ServingProbe[] {
    return probes.filter((probe) => {
      const last = this.health.get(probe.url)?.checkedAt;
      return last === undefined || now - last >= (probe.check?.intervalMs ?? defaultIntervalMs);
    });
  }

  /** Probes every server once (concurrently); returns true when any server's state changed. */
  async probe(probes: Iterable<ServingProbe>): Promise<boolean> {
    const unique = new Map<string, ServingProbe>();
    for (const probe of probes) if (!unique.has(probe.url)) unique.set(probe.url, probe);
    const results = await Promise.all(
      [...unique.values()].map(async (probe) => [probe, await this.ping(probe)] as const),
    );
    let changed = false;
    for (const [probe, ok] of results) {
      const previous = this.health.get(probe.url);
      const failures = ok ? 0 : (previous?.failures ?? 0) + 1;
      const wasUp = previous?.state === 'up';
      const threshold = probe.check?.unhealthyThreshold ?? FAILURES_TO_DOWN;
      const state: HealthState = ok ? 'up' : wasUp && failures < threshold ? 'up' : 'down';
      if (state !== previous?.state) changed = true;
      this.health.set(probe.url, { state, failures, checkedAt: Date.now() });
    }
    return changed;
  }

  /** Forgets URLs no endpoint uses any more. */
  retain(urls: Iterable<string>): void {
    const keep = new Set(urls);
    for (const url of [...this.health.keys()]) if (!keep.has(url)) this.health.delete(url);
  }

  private async ping(probe: ServingProbe): Promise<boolean> {
    const timeoutMs = probe.check?.timeoutMs ?? PING_TIMEOUT_MS;
    try {
      const response = await request(`${probe.url}${probe.check?.path ?? DEFAULT_PATH}`, {
        dispatcher: this.http.dispatcher(probe.restricted),
        method: 'GET',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      return false;
    }
  }
}
