import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ProductsRepository } from 'src/modules/products/products.repository';

/** What the data plane needs to know of a product offering an endpoint. */
export interface ProductLifecycle {
  name: string;
  state: 'published' | 'deprecated' | 'retired';
  /** When it was deprecated (ms), for the Deprecation header. */
  deprecatedAt: number | null;
  /** After this instant (ms) calls are refused like a retired product's. */
  sunsetAt: number | null;
}

/** How often a replica re-reads the products a peer replica changed. */
const REFRESH_MS = 5_000;

/**
 * The lifecycle of every non-draft product by endpoint name, in memory, so that the request path never
 * reads PostgreSQL: reloaded after each change on this replica and every few seconds for the others'.
 */
@Injectable()
export class ProductStateHolder implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ProductStateHolder.name);
  private byEndpoint = new Map<string, ProductLifecycle>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly repository: ProductsRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((error: unknown) =>
        this.logger.warn(
          `could not reload API products: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    }, REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  of(endpoint: string): ProductLifecycle | undefined {
    return this.byEndpoint.get(endpoint);
  }

  async reload(): Promise<void> {
    const next = new Map<string, ProductLifecycle>();
    const products = await this.repository.list();
    // A retired product's endpoint may be offered again by a newer product: the live one wins.
    for (const p of products.sort((a, b) => (a.state === 'retired' ? -1 : b.state === 'retired' ? 1 : 0))) {
      if (p.state === 'draft') continue;
      next.set(p.endpoint, {
        name: p.name,
        state: p.state,
        deprecatedAt: p.state === 'deprecated' ? Date.parse(p.updatedAt) : null,
        sunsetAt: p.sunsetAt ? Date.parse(p.sunsetAt) : null,
      });
    }
    this.byEndpoint = next;
  }
}
