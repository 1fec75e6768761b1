import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** OpenAI's answers for stored responses that are missing, or belong to someone else (the same thing). */
export class StoredResponseException extends GatewayException {
  static notFound(id: string): StoredResponseException {
    return new StoredResponseException(
      404,
      GatewayErrorCode.ObjectNotFound,
      `Response with id '${id}' not found.`,
    );
  }

  /** OpenAI answers an unknown `previous_response_id` with a 400 naming the parameter. */
  static previousNotFound(id: string): StoredResponseException {
    return new StoredResponseException(
      400,
      GatewayErrorCode.PreviousResponseNotFound,
      `Previous response with id '${id}' not found.`,
      { param: 'previous_response_id' },
    );
  }

  static badQuery(message: string, param: string): StoredResponseException {
    return new StoredResponseException(400, GatewayErrorCode.InvalidRequest, message, { param });
  }
}
