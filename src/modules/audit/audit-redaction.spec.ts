import { redactSecrets } from 'src/modules/audit/audit.repository';

describe('audit snapshots', () => {
  it('replace string values of secret-named fields at any depth, keep references, numbers and the rest', () => {
    const snapshot = {
      name: 'chat',
      alert_webhook_url: 'https://hooks.example.com/services/T0/B0/xyz',
      model: {
        config: { openai_api_key: '$secret:openai', api_key: 'sk-live-1', openai_api_base: 'https://x/v1' },
      },
      headers: [{ authorization: 'Bearer abc' }],
      tokenLimit: 5,
      none: null,
    };
    expect(redactSecrets(snapshot)).toEqual({
      name: 'chat',
      alert_webhook_url: '[redacted]',
      model: {
        config: { openai_api_key: '$secret:openai', api_key: '[redacted]', openai_api_base: 'https://x/v1' },
      },
      headers: [{ authorization: '[redacted]' }],
      tokenLimit: 5,
      none: null,
    });
  });
});
