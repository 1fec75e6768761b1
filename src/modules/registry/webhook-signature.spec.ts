import { signWebhook, verifyWebhook } from 'src/modules/registry/webhook-signature';

const PAYLOAD =
  '{"entity": "model_version_alias", "action": "created", "timestamp": "2026-11-25T20:00:00+00:00", "data": {"name": "churn", "alias": "champion", "version": "2"}}';
// Computed with MLflow 3.17.2's mlflow.webhooks.delivery._generate_hmac_signature for the same inputs.
const MLFLOW_SIGNATURE = 'v1,GP5E5B5HP0NCcD+pUoLI/5t4BeL/HiZ/F1md64zFGHw=';
const NOW = 1_764_100_000;

describe('MLflow webhook signatures', () => {
  const headers = { signature: MLFLOW_SIGNATURE, timestamp: String(NOW), deliveryId: 'delivery-123' };

  it('signs exactly as MLflow does (v1,<base64 HMAC-SHA256 of id.timestamp.payload>)', () => {
    expect(signWebhook('s3cret', 'delivery-123', String(NOW), PAYLOAD)).toBe(MLFLOW_SIGNATURE);
  });

  it('accepts a delivery MLflow signed', () => {
    expect(verifyWebhook('s3cret', headers, PAYLOAD, NOW + 10)).toEqual({ ok: true });
  });

  it('accepts any of several space-separated signatures (secret rotation)', () => {
    const both = { ...headers, signature: `v1,AAAA ${MLFLOW_SIGNATURE}` };
    expect(verifyWebhook('s3cret', both, PAYLOAD, NOW)).toEqual({ ok: true });
  });

  it.each([
    ['another secret', 'other', headers, PAYLOAD],
    ['a changed body', 's3cret', headers, PAYLOAD.replace('"2"', '"3"')],
    ['another delivery id', 's3cret', { ...headers, deliveryId: 'delivery-124' }, PAYLOAD],
  ])('refuses %s', (_what, secret, given, payload) => {
    expect(verifyWebhook(secret, given, payload, NOW)).toEqual({
      ok: false,
      reason: 'Invalid webhook signature.',
    });
  });

  it('refuses missing headers and stale or future timestamps (replays)', () => {
    expect(verifyWebhook('s3cret', { ...headers, signature: undefined }, PAYLOAD, NOW).ok).toBe(false);
    expect(verifyWebhook('s3cret', headers, PAYLOAD, NOW + 301)).toEqual({
      ok: false,
      reason: 'The webhook timestamp is missing or too far from the current time.',
    });
    expect(verifyWebhook('s3cret', headers, PAYLOAD, NOW - 301).ok).toBe(false);
    expect(verifyWebhook('s3cret', { ...headers, timestamp: 'soon' }, PAYLOAD, NOW).ok).toBe(false);
  });
});
