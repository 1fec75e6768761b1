/** Which public surface a URL belongs to; each answers errors in its own envelope (ARCHITECTURE.md "Errors"). */
export type ErrorSurface = 'openai' | 'mlflow' | 'admin';

export function surfaceOf(url: string): ErrorSurface {
  if (url.startsWith('/v1/')) return 'openai';
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
