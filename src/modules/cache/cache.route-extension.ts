import { CachePolicyInput, parseCachePolicyYaml } from 'src/modules/cache/cache-policy';
import { registerRouteExtension } from 'src/modules/routing/route-extension.registry';

/** The endpoint's own `gatehouse.cache` keys over the top-level ones; undefined when neither sets any. */
function layer(
  defaults: CachePolicyInput | undefined,
  own: CachePolicyInput | undefined,
): CachePolicyInput | undefined {
  return defaults === undefined && own === undefined ? undefined : { ...defaults, ...own };
}

/** `gatehouse.cache` at the top level, per LLM endpoint and per declared `ml/v1/predict` endpoint. */
registerRouteExtension({
  slot: 'cache',
  compileTop: (config, problems) => parseCachePolicyYaml(config.extensions.cache, '(top level)', problems),
  compileEndpoint: (top, endpoint, where, problems) =>
    layer(top, parseCachePolicyYaml(endpoint.extensions.cache, where, problems)),
  compileModel: (top, model, where, problems) =>
    layer(top, parseCachePolicyYaml(model.cache, where, problems)),
});
