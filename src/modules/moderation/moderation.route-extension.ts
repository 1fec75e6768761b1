import {
  checkModerationReferences,
  compileEndpointModeration,
  compileModerationConfig,
} from 'src/modules/moderation/moderation-policy.schema';
import { registerRouteExtension } from 'src/modules/routing/route-extension.registry';

/** `gatehouse.moderation`: named policies at the top level, an endpoint's own policy or reference. */
registerRouteExtension({
  slot: 'moderation',
  compileTop: (config, problems) => compileModerationConfig(config.extensions.moderation, problems),
  compileEndpoint: (top, endpoint, where, problems) =>
    compileEndpointModeration(endpoint.extensions.moderation, top, endpoint.name, where, problems),
  check: (top, endpoints, routes, problems) => {
    problems.push(
      ...checkModerationReferences(
        top,
        endpoints.map((e) => e.compiled),
        new Map([...endpoints, ...routes].map((e) => [e.name, e.endpointType])),
      ),
    );
  },
});
