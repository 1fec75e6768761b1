import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { request } from 'undici';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { EndpointInstance, RouteTable } from 'src/modules/routing/route-table';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { HealthCheckPolicy } from 'src/modules/routing/traffic/traffic-policy';
import { TrafficClock, TrafficState } from 'src/modules/routing/traffic/traffic-state.service';

const TICK_MS = 100;

/**
 * Active health checks of multi-instance LLM endpoints (`gatehouse.health_check`): `GET <origin><path>`
 * per instance every interval; `unhealthy_threshold` failures in a row take the instance out of the
 * balancer's rotation, one success puts it back. Nothing runs unless an endpoint configures a check.
 * (Predict endpoints are checked by the registry's ServingHealthMonitor on `/ping`.)
 */
@Injectable()
export class InstanceHealthChecker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly probes = new Map<string, { next: number; failures: number }>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Whether a table has any checked instance, computed once per table snapshot. */
  private readonly checkedTables = new WeakMap<RouteTable, boolean>();

  constructor(
    private readonly holder: RouteTableHolder,
    private readonly state: TrafficState,
    private readonly clock: TrafficClock,
    private readonly http: UpstreamHttpClient,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Probes every instance whose check is due (also callable directly). */
  async tick(): Promise<void> {
    if (this.running) return;
    const table = this.holder.current;
    let any = this.checkedTables.get(table);
    if (any === undefined) {
      any = table.endpoints.some((e) => e.instances?.healthCheck !== undefined);
      this.checkedTables.set(table, any);
    }
    if (!any) return;
    this.running = true;
    try {
      const now = this.clock.now();
      const due: Promise<void>[] = [];
      for (const endpoint of table.endpoints) {
        const policy = endpoint.instances?.healthCheck;
        if (!policy) continue;
        for (const instance of endpoint.instances!.list) {
          const probe = this.probes.get(instance.key);
          if (!instance.healthUrl || (probe && probe.next > now)) continue;
          due.push(this.check(endpoint.name, instance, policy, now, endpoint.restrictedEgress === true));
        }
      }
      await Promise.all(due);
    } finally {
      this.running = false;
    }
  }

  private async check(
    endpoint: string,
    instance: EndpointInstance,
    policy: HealthCheckPolicy,
    now: number,
    restricted: boolean,
  ) {
    const ok = await this.ping(instance.healthUrl!, policy.timeoutMs, restricted);
    const previous = this.probes.get(instance.key);
    const failures = ok ? 0 : (previous?.failures ?? 0) + 1;
    this.probes.set(instance.key, { next: now + policy.intervalMs, failures });
    this.state.balancer(endpoint).setHealthy(instance.key, failures < policy.unhealthyThreshold);
  }

  private async ping(url: string, timeoutMs: number, restricted: boolean): Promise<boolean> {
    try {
      const response = await request(url, {
        // Admin-API endpoints probe through the allow-listed pool like their requests.
        dispatcher: this.http.dispatcher(restricted),
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

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
