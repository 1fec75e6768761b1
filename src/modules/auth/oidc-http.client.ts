import { Injectable } from '@nestjs/common';

/** Fetches the IdP's discovery document and JWKS: JSON only, bounded in time and size, no redirects. */
@Injectable()
export class OidcHttpClient {
  async getJson<T>(url: string, timeoutMs: number): Promise<T> {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > 1_000_000) throw new Error('response too large');
    return JSON.parse(text) as T;
  }
}
