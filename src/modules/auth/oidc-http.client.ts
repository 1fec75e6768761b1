import { Injectable } from '@nestjs/common';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';

/**
 * Fetches the IdP's discovery document and JWKS: JSON only, bounded in time and size, no redirects.
 * OIDC_ISSUER is operator configuration, so the shared trusted pool.
 */
@Injectable()
export class OidcHttpClient {
  constructor(private readonly http: UpstreamHttpClient) {}

  async getJson<T>(url: string, timeoutMs: number): Promise<T> {
    const response = await this.http.fetchText(
      { url, method: 'GET', headers: { accept: 'application/json' } },
      { signal: AbortSignal.timeout(timeoutMs), headersTimeoutMs: timeoutMs, idleTimeoutMs: timeoutMs },
    );
    if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}`);
    if (response.text.length > 1_000_000) throw new Error('response too large');
    return JSON.parse(response.text) as T;
  }
}
