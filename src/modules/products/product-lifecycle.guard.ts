import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { invocationContextOf } from 'src/modules/pipeline/invocation-context';
import { ProductErrors } from 'src/modules/products/products.exception';
import { ProductStateHolder } from 'src/modules/products/product-state.holder';

/**
 * The API lifecycle on the data plane, from memory: a call to the endpoint of a deprecated product is
 * served with `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers; a retired product's endpoint,
 * or a deprecated one past its sunset, answers 410.
 */
@Injectable()
export class ProductLifecycleGuard implements CanActivate {
  constructor(private readonly products: ProductStateHolder) {}

  canActivate(context: ExecutionContext): boolean {
    const ctx = invocationContextOf(context);
    const name = ctx.entry?.name;
    if (name === undefined) return true;
    const product = this.products.of(name);
    if (!product || product.state === 'published') return true;
    if (product.state === 'retired' || (product.sunsetAt !== null && Date.now() >= product.sunsetAt)) {
      throw ProductErrors.retired(product.name);
    }
    if (product.deprecatedAt !== null)
      ctx.header('deprecation', `@${Math.floor(product.deprecatedAt / 1000)}`);
    if (product.sunsetAt !== null) ctx.header('sunset', new Date(product.sunsetAt).toUTCString());
    ctx.header(
      'link',
      `</ui/#/portal/${encodeURIComponent(product.name)}>; rel="deprecation"; type="text/html"`,
    );
    return true;
  }
}
