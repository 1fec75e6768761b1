import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { call } from 'test/e2e/support/admin-client';
import { TestGateway } from 'test/e2e/support/test-gateway';

/** A listener an attacker controls: records every request (headers included) and answers 200 `{}`. */
export interface Listener {
  url: string;
  port: number;
  hits: { path: string; headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

export async function startListener(
  answer: (res: import('node:http').ServerResponse, path: string, body: string) => void = (res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  },
): Promise<Listener> {
  const hits: Listener['hits'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body });
      answer(res, req.url ?? '', body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A team, a principal with `roles` in it and an API key for it. */
export async function member(
  gw: TestGateway,
  team: string,
  roles: string[],
): Promise<{ teamId: string; principalId: string; key: string; keyId: string }> {
  const admin = gw.authHeaders();
  const created = await call(gw.url, 'POST', '/admin/v1/teams', admin, { name: team });
  const teamId: string =
    created.status === 201
      ? created.body.id
      : (await call(gw.url, 'GET', '/admin/v1/teams', admin)).body.find(
          (t: { name: string }) => t.name === team,
        ).id;
  const principal = await call(gw.url, 'POST', '/admin/v1/principals', admin, {
    kind: 'user',
    name: `${team}-${roles.join('+')}`,
    teamId,
    roles,
  });
  if (principal.status !== 201) throw new Error(`principal: ${JSON.stringify(principal.body)}`);
  const key = await call(gw.url, 'POST', '/admin/v1/keys', admin, {
    name: 'k',
    principalId: principal.body.id,
  });
  if (key.status !== 201) throw new Error(`key: ${JSON.stringify(key.body)}`);
  return { teamId, principalId: principal.body.id, key: key.body.key, keyId: key.body.id };
}

/** An `openai` endpoint entry for the admin API. */
export function openaiEntry(name: string, apiKey: string, apiBase: string, model = 'gpt-4o-mini') {
  return {
    name,
    endpoint_type: 'llm/v1/chat',
    model: { provider: 'openai', name: model, config: { openai_api_key: apiKey, openai_api_base: apiBase } },
  };
}
