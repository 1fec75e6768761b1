import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export class PromptException extends GatewayException {
  static notFound(what: string): PromptException {
    return new PromptException(404, GatewayErrorCode.PromptNotFound, `${what} not found.`);
  }

  static override invalid(message: string, param: string | null = null): PromptException {
    return new PromptException(400, GatewayErrorCode.InvalidRequest, message, { param });
  }

  static conflict(message: string): PromptException {
    return new PromptException(409, GatewayErrorCode.Conflict, message);
  }

  /** The endpoint is configured with a template that is not (or no longer) available: an operator problem. */
  static unavailable(message: string): PromptException {
    return new PromptException(503, GatewayErrorCode.PromptUnavailable, message);
  }
}
