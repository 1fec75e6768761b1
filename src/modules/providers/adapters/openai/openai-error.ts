import { UpstreamErrorInfo } from 'src/modules/providers/provider-adapter';

/** `{"error":{"message","type","param","code"}}`; some compatible servers send `{"error":"text"}` or `{"detail":…}`. */
export function errorInfoFromBody(status: number, body: unknown): UpstreamErrorInfo {
  if (body !== null && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const error = record.error;
    if (error !== null && typeof error === 'object') {
      const e = error as Record<string, unknown>;
      if (typeof e.message === 'string') {
        // `param` is left out unless the upstream names one: the routing layer renders a missing param as null.
        const info: UpstreamErrorInfo = {
          message: e.message,
          code: typeof e.code === 'string' ? e.code : null,
        };
        if (typeof e.type === 'string') info.type = e.type;
        if (typeof e.param === 'string') info.param = e.param;
        return info;
      }
    }
    if (typeof error === 'string') return { message: error };
    if (typeof record.detail === 'string') return { message: record.detail };
    if (typeof record.message === 'string') return { message: record.message };
  }
  return { message: `upstream returned HTTP ${status}` };
}
