import { once } from 'node:events';
import { createServer, Server } from 'node:http';
import { AddressInfo, LookupFunction } from 'node:net';
import { loadAppConfig } from 'src/config/env.config';
import {
  DEFAULT_UPSTREAM_ALLOWED_HOSTS,
  EgressPolicy,
  EgressRefused,
  parseAllowedHosts,
  Resolver,
} from 'src/infra/http/egress-policy';
import { UpstreamFailure, UpstreamHttpClient } from 'src/infra/http/upstream-http.client';

const fixed =
  (table: Record<string, string[]>): Resolver =>
  (hostname) =>
    table[hostname]
      ? Promise.resolve(
          table[hostname].map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
        )
      : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));

function lookupOnce(lookup: LookupFunction, host: string): Promise<{ error: unknown; address?: string }> {
  return new Promise((resolve) =>
    lookup(host, {}, (error, address) =>
      resolve({ error, address: error ? undefined : (address as string) }),
    ),
  );
}

describe('EgressPolicy (UPSTREAM_ALLOWED_HOSTS)', () => {
  it('lists the public provider hosts by default and refuses internal ranges and unlisted hosts', () => {
    const policy = new EgressPolicy(DEFAULT_UPSTREAM_ALLOWED_HOSTS);
    expect(policy.refuseHost('api.openai.com', 443)).toBeUndefined();
    expect(policy.refuseHost('contoso.openai.azure.com', 443)).toBeUndefined();
    expect(policy.refuseHost('bedrock-runtime.eu-west-1.amazonaws.com', 443)).toBeUndefined();
    expect(policy.refuseHost('us-central1-aiplatform.googleapis.com', 443)).toBeUndefined();
    // `*` stays inside one label: no deeper names, no suffix tricks.
    expect(policy.refuseHost('a.b.openai.azure.com', 443)).toContain('not in UPSTREAM_ALLOWED_HOSTS');
    expect(policy.refuseHost('api.openai.com.evil.example', 443)).toContain('not in UPSTREAM_ALLOWED_HOSTS');
    for (const host of [
      'localhost',
      '127.0.0.1',
      '169.254.169.254',
      '10.0.0.5',
      '[::1]',
      'metadata.google.internal',
    ]) {
      expect(policy.refuseHost(host, 80)).toContain('not in UPSTREAM_ALLOWED_HOSTS');
    }
    for (const address of [
      '127.0.0.1',
      '0.0.0.0',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.100.100.200',
      '::1',
      '::',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      'fd00:ec2::254',
      'fe80::1',
    ]) {
      expect([address, policy.addressAllowed(address, 443)]).toEqual([address, false]);
    }
    expect(policy.addressAllowed('8.8.8.8', 443)).toBe(true);
    expect(policy.addressAllowed('2606:4700::1111', 443)).toBe(true);
  });

  it('admits internal addresses only through address entries, with their port', () => {
    const policy = new EgressPolicy('127.0.0.1:4010, 10.0.0.0/8, [::1]:8080, vllm.internal');
    expect(policy.refuseHost('127.0.0.1', 4010)).toBeUndefined();
    expect(policy.refuseHost('127.0.0.1', 4011)).toContain('127.0.0.1:4011');
    expect(policy.refuseHost('10.9.8.7', 8000)).toBeUndefined();
    expect(policy.refuseHost('[::1]', 8080)).toBeUndefined();
    expect(policy.refuseHost('vllm.internal', 8000)).toBeUndefined();
    expect(policy.addressAllowed('10.0.0.5', 8000)).toBe(true);
    expect(policy.addressAllowed('127.0.0.1', 4011)).toBe(false);
    expect(policy.addressAllowed('192.168.0.1', 8000)).toBe(false);
  });

  it('rejects malformed lists at boot, naming the entry', () => {
    expect(() => parseAllowedHosts('api.openai.com,http://x')).toThrow("'http://x'");
    expect(() => parseAllowedHosts('10.0.0.0/40')).toThrow('10.0.0.0/40');
    expect(() => loadAppConfig({ UPSTREAM_ALLOWED_HOSTS: 'a.com:99999' })).toThrow('UPSTREAM_ALLOWED_HOSTS');
  });

  it('checks URLs after DNS: a listed name resolving to an internal address is refused', async () => {
    const policy = new EgressPolicy(
      'localhost,rebind.example,api.example.com',
      fixed({ localhost: ['127.0.0.1', '::1'], 'api.example.com': ['93.184.216.34'] }),
    );
    expect(await policy.checkUrl('http://localhost:8080/v1')).toBe(
      "host 'localhost' resolves to 127.0.0.1, an internal address not in UPSTREAM_ALLOWED_HOSTS",
    );
    expect(await policy.checkUrl('https://api.example.com/v1')).toBeUndefined();
    expect(await policy.checkUrl('http://2130706433/')).toContain('127.0.0.1:80');
    expect(await policy.checkUrl('http://[::ffff:127.0.0.1]/')).toContain('not in UPSTREAM_ALLOWED_HOSTS');
    expect(await policy.checkUrl('file:///etc/passwd')).toContain("'file:' URLs are not allowed");
    expect(await policy.checkUrl('https://user:pw@api.example.com/')).toContain('credentials');
    // Not resolvable now: accepted here, every connection checks again.
    expect(await policy.checkUrl('https://rebind.example/')).toBeUndefined();
  });

  it('checks every connection: a name that rebinds to an internal address is refused at connect time', async () => {
    let answers = [['93.184.216.34'], ['127.0.0.1'], ['127.0.0.1', '93.184.216.34']];
    const policy = new EgressPolicy('rebind.example', (hostname) =>
      fixed({ [hostname]: answers[0] })(hostname).finally(() => (answers = answers.slice(1))),
    );
    const lookup = policy.lookupFor(443);
    expect(await lookupOnce(lookup, 'rebind.example')).toEqual({ error: null, address: '93.184.216.34' });
    const second = await lookupOnce(lookup, 'rebind.example');
    expect(second.error).toBeInstanceOf(EgressRefused);
    expect(String(second.error)).toContain("'rebind.example' resolves to 127.0.0.1");
    // A mixed answer is narrowed to the allowed addresses.
    expect(await lookupOnce(lookup, 'rebind.example')).toEqual({ error: null, address: '93.184.216.34' });
  });
});

describe('UpstreamHttpClient restricted egress (real connections)', () => {
  let server: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const request = (url: string) => ({ url, method: 'POST' as const, headers: {}, body: '{}' });

  it('connects to a listed address, never follows a redirect, and refuses names that resolve inside', async () => {
    const client = new UpstreamHttpClient(
      loadAppConfig({ UPSTREAM_ALLOWED_HOSTS: `127.0.0.1:${port},localhost:${port}` }),
    );
    try {
      const signal = new AbortController().signal;
      const listed = await client.fetchText(request(`http://127.0.0.1:${port}/v1`), {
        signal,
        restricted: true,
      });
      expect([listed.status, listed.headers.location, hits]).toEqual([
        302,
        'http://169.254.169.254/latest/meta-data/',
        1,
      ]);
      // `localhost` listed by name resolves to loopback, which only an address entry admits: the
      // connection's own lookup refuses it.
      const other = new UpstreamHttpClient(loadAppConfig({ UPSTREAM_ALLOWED_HOSTS: `localhost:${port}` }));
      try {
        const refused = client.fetchText(request(`http://localhost:${port + 1}/v1`), {
          signal,
          restricted: true,
        });
        await expect(refused).rejects.toMatchObject({ kind: 'refused' });
        const byName = other.fetchText(request(`http://localhost:${port}/v1`), { signal, restricted: true });
        await expect(byName).rejects.toBeInstanceOf(UpstreamFailure);
        await expect(byName).rejects.toMatchObject({ kind: 'refused' });
        const literal = other.openStream(request(`http://127.0.0.1:${port}/v1`), {
          signal,
          restricted: true,
        });
        await expect(literal).rejects.toMatchObject({ kind: 'refused' });
      } finally {
        await other.onModuleDestroy();
      }
      expect(hits).toBe(1);
      // The same URL through the trusted (host operator's) agent is not restricted.
      const trusted = await client.fetchText(request(`http://localhost:${port}/v1`), { signal });
      expect([trusted.status, hits]).toEqual([302, 2]);
    } finally {
      await client.onModuleDestroy();
    }
  });
});
