/** A tiny JSON client for the admin API, with the credentials given. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are inspected field by field
export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<JsonResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

export function chatBody(model: string): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content: 'hello auth' }] };
}
