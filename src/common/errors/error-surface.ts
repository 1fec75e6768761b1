/** Which public surface a URL belongs to; each answers errors in its own envelope (ARCHITECTURE.md "Errors"). */
export type ErrorSurface = 'openai' | 'mlflow' | 'admin' | 'anthropic' | 'gemini';

/** Paths of the Anthropic Messages API (and MLflow 3's Anthropic passthrough), which answer in its envelope. */
function isAnthropic(url: string): boolean {
  return (
    url === '/v1/messages' ||
    url.startsWith('/v1/messages/') ||
    url.startsWith('/v1/messages?') ||
    url.startsWith('/gateway/anthropic/')
  );
}

/**
 * Paths of Gemini's generateContent API (and MLflow 3's Gemini passthrough): Google's envelope, and the
 * only paths where a credential may come in the query string (`?key=`, as Google's API takes it).
 */
export function isGemini(url: string): boolean {
  return url.startsWith('/v1beta/models/') || url.startsWith('/gateway/gemini/');
}

export function surfaceOf(url: string): ErrorSurface {
  if (isAnthropic(url)) return 'anthropic';
  if (isGemini(url)) return 'gemini';
  // MLflow 3's OpenAI passthrough speaks OpenAI's envelope, like /v1/*.
  if (url.startsWith('/v1/') || url.startsWith('/gateway/openai/')) return 'openai';
  if (url.startsWith('/admin/')) return 'admin';
  if (
    url.startsWith('/api/') ||
    url.startsWith('/endpoints/') ||
    url.startsWith('/gateway/') ||
    url.startsWith('/predict/') ||
    url === '/health' ||
    url.startsWith('/health?')
  ) {
    return 'mlflow';
  }
  return 'admin';
}
