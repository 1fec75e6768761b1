import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** Admin-side moderation errors (rendered in the admin envelope by the global filter). */
export class ModerationException extends GatewayException {
  static invalidPolicy(problems: string[]): ModerationException {
    return new ModerationException(
      400,
      GatewayErrorCode.InvalidRequest,
      `Invalid policy: ${problems.join(' ')}`,
    );
  }

  static invalidRequest(message: string): ModerationException {
    return new ModerationException(400, GatewayErrorCode.InvalidRequest, message);
  }

  static notFound(what: string): ModerationException {
    return new ModerationException(404, GatewayErrorCode.RouteNotFound, `${what} not found.`);
  }
}
