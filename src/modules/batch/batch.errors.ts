import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** The Files and Batch API's refusals, in OpenAI's words where OpenAI has some. */
export const BatchErrors = {
  noFile(id: string): GatewayException {
    return new GatewayException(
      404,
      GatewayErrorCode.ObjectNotFound,
      `No such File object: ${id.slice(0, 128)}`,
      {
        param: 'id',
      },
    );
  },
  noBatch(id: string): GatewayException {
    return new GatewayException(
      404,
      GatewayErrorCode.ObjectNotFound,
      `No such Batch object: ${id.slice(0, 128)}`,
      {
        param: 'id',
      },
    );
  },
  invalid(message: string, param: string | null = null): GatewayException {
    return GatewayException.invalid(message, param);
  },
  tooLarge(limit: number): GatewayException {
    return new GatewayException(
      413,
      GatewayErrorCode.PayloadTooLarge,
      `File is larger than the ${limit} bytes this gateway accepts (FILES_MAX_BYTES).`,
      { param: 'file' },
    );
  },
  conflict(message: string): GatewayException {
    return new GatewayException(409, GatewayErrorCode.Conflict, message);
  },
};
