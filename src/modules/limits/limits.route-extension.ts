import { endpointLimits, parseTopLevelLimits } from 'src/modules/limits/limit-rules';
import { registerRouteExtension } from 'src/modules/routing/route-extension.registry';

/** `gatehouse.limits` (top level and per endpoint), MLflow's `limit:` and `gatehouse.pricing`. */
registerRouteExtension({
  slot: 'limits',
  compileTop: (config, problems) => parseTopLevelLimits(config.extensions, problems),
  compileEndpoint: (top, endpoint, where, problems) =>
    endpointLimits(top, endpoint.name, endpoint.limit, endpoint.extensions, where, problems),
});
