import { createHmac, timingSafeEqual } from 'node:crypto';

/** MLflow's webhook headers (mlflow/webhooks/constants.py). */
export const SIGNATURE_HEADER = 'x-mlflow-signature';
export const TIMESTAMP_HEADER = 'x-mlflow-timestamp';
export const DELIVERY_ID_HEADER = 'x-mlflow-delivery-id';
/** Deliveries older (or newer) than this are refused, against replays. */
export const MAX_SKEW_SECONDS = 300;

/** `v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<raw body>">`, as MLflow signs deliveries. */
export function signWebhook(secret: string, deliveryId: string, timestamp: string, payload: string): string {
  const mac = createHmac('sha256', secret).update(`${deliveryId}.${timestamp}.${payload}`).digest('base64');
  return `v1,${mac}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifyWebhook(
  secret: string,
  headers: { signature?: string; timestamp?: string; deliveryId?: string },
  payload: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): SignatureCheck {
  const { signature, timestamp, deliveryId } = headers;
  if (!signature || !timestamp || !deliveryId) {
    return {
      ok: false,
      reason: 'Missing X-MLflow-Signature, X-MLflow-Timestamp or X-MLflow-Delivery-Id header.',
    };
  }
  if (!/^[0-9]{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'The webhook timestamp is missing or too far from the current time.' };
  }
  const expected = Buffer.from(signWebhook(secret, deliveryId, timestamp, payload));
  // Several signatures may be sent space-separated (secret rotation); any match will do.
  const matches = signature.split(' ').some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true } : { ok: false, reason: 'Invalid webhook signature.' };
}
