import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export class RolloutException extends GatewayException {
  static notFound(id: string): RolloutException {
    return new RolloutException(
      404,
      GatewayErrorCode.ObjectNotFound,
      `Rollout '${id.slice(0, 64)}' not found.`,
    );
  }

  static conflict(message: string): RolloutException {
    return new RolloutException(409, GatewayErrorCode.Conflict, message);
  }

  static override invalid(message: string, param: string | null = null): RolloutException {
    return new RolloutException(400, GatewayErrorCode.InvalidRequest, message, { param });
  }
}
