import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { ProductState } from 'src/modules/products/dto/products.dto';

export const ProductErrors = {
  notFound: () => new GatewayException(404, GatewayErrorCode.ObjectNotFound, 'No API product by that name.'),
  nameTaken: (name: string) =>
    new GatewayException(409, GatewayErrorCode.Conflict, `An API product named '${name}' already exists.`),
  unknownEndpoint: (name: string) =>
    GatewayException.invalid(`No endpoint or traffic route named '${name.slice(0, 128)}'.`, 'endpoint'),
  endpointTaken: (endpoint: string, product: string) =>
    new GatewayException(
      409,
      GatewayErrorCode.Conflict,
      `Endpoint '${endpoint.slice(0, 128)}' is already offered as API product '${product}'.`,
    ),
  transition: (from: ProductState, to: ProductState) =>
    new GatewayException(
      409,
      GatewayErrorCode.Conflict,
      `An API product cannot go from ${from} to ${to} (draft → published → deprecated → retired).`,
    ),
  sunsetInPast: () => GatewayException.invalid('The sunset date must lie in the future.', 'sunset'),
  notSubscribable: (state: ProductState) =>
    new GatewayException(
      409,
      GatewayErrorCode.Conflict,
      `A ${state} API product takes no new subscriptions.`,
    ),
  retired: (name: string) =>
    new GatewayException(
      410,
      GatewayErrorCode.ProductRetired,
      `API product '${name}' has been retired and is no longer served.`,
      { type: 'invalid_request_error' },
    ),
};
