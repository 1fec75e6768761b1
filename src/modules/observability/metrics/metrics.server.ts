import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';

/**
 * METRICS_PORT: a second, plain HTTP listener that serves only `GET /metrics`, without authentication.
 * Meant for a port that only the scraper can reach (a pod port not behind the ingress, a private network).
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: Server | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** The bound port (METRICS_PORT=0 picks a free one), when the listener runs. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.METRICS_PORT;
    if (port === undefined) return;
    const server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0].replace(/\/$/, '');
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('not found: this port serves GET /metrics\n');
        return;
      }
      this.metrics.render().then(
        (text) =>
          response
            .writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' })
            .end(request.method === 'HEAD' ? undefined : text),
        () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
    });
    const host = this.config.METRICS_HOST ?? this.config.HOST;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`metrics on http://${host}:${this.port}/metrics (no authentication on this port)`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
