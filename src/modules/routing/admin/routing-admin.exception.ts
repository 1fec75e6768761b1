import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export class RoutingAdminException extends GatewayException {
  static notFound(what: string): RoutingAdminException {
    return new RoutingAdminException(404, GatewayErrorCode.ObjectNotFound, `${what} not found.`);
  }

  static forbidden(message: string): RoutingAdminException {
    return new RoutingAdminException(403, GatewayErrorCode.PermissionDenied, message, {
      type: 'permission_error',
    });
  }

  static conflict(message: string): RoutingAdminException {
    return new RoutingAdminException(409, GatewayErrorCode.Conflict, message);
  }

  static override invalid(message: string, param: string | null = null): RoutingAdminException {
    return new RoutingAdminException(400, GatewayErrorCode.InvalidRequest, message, { param });
  }

  /** The config the change would produce does not validate: every problem, as the YAML loader words it. */
  static rejected(what: string, problems: readonly string[]): RoutingAdminException {
    const listed = problems.length === 1 ? problems[0] : problems.map((p, i) => `(${i + 1}) ${p}`).join(' ');
    return RoutingAdminException.invalid(`${what} is invalid: ${listed}`.slice(0, 4000));
  }
}
