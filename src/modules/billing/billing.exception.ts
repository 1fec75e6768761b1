import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

export const BillingErrors = {
  badPeriod: (message: string) => GatewayException.invalid(message, 'from'),
  otherTeam: () =>
    new GatewayException(
      403,
      GatewayErrorCode.PermissionDenied,
      "Only your own team's usage is visible; other teams' usage needs the billing.admin permission.",
      { type: 'permission_error' },
    ),
  tooManyPoints: (count: number, max: number) =>
    GatewayException.invalid(
      `The period holds ${count} buckets; at most ${max}: choose a larger bucket or a shorter period.`,
      'bucket',
    ),
  badCursor: () =>
    GatewayException.invalid('Invalid page cursor: use the `next` value of the previous page.', 'before'),
};
