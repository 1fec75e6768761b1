import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { BlockList, isIP, LookupFunction } from 'node:net';

/**
 * Hosts that configuration made through the admin API (and other user-supplied URLs: registry tags,
 * budget webhooks, external moderation) may reach when UPSTREAM_ALLOWED_HOSTS is not set: the public
 * APIs of the providers Gatehouse speaks to.
 */
export const DEFAULT_UPSTREAM_ALLOWED_HOSTS = [
  'api.openai.com',
  '*.openai.azure.com',
  '*.cognitiveservices.azure.com',
  'api.anthropic.com',
  'generativelanguage.googleapis.com',
  'aiplatform.googleapis.com',
  '*-aiplatform.googleapis.com',
  'bedrock-runtime.*.amazonaws.com',
  'api.mistral.ai',
  'api.cohere.com',
  'api.cohere.ai',
  'api.groq.com',
  'api.together.xyz',
  'api.fireworks.ai',
  'api.deepseek.com',
  'api.x.ai',
  'api.perplexity.ai',
  'openrouter.ai',
  'router.huggingface.co',
  'api-inference.huggingface.co',
  '*.cloud.databricks.com',
  '*.azuredatabricks.net',
].join(',');

/*
 * Addresses never reached unless an address entry of the allow-list covers them: loopback, "this
 * network", private (RFC 1918, ULA), carrier-grade NAT, link-local (cloud metadata 169.254.169.254,
 * fd00:ec2::254), benchmarking, multicast and reserved ranges, and every IPv4-mapped or NAT64 address.
 */
const INTERNAL_V4 = new BlockList();
const INTERNAL_V6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL_V4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL_V6.addSubnet(network, prefix, 'ipv6');
}

interface HostRule {
  kind: 'host';
  /** Lower-case labels; a label may hold `*` (any run of characters within that label). */
  labels: string[];
  port: number | undefined;
}

interface AddressRule {
  kind: 'address';
  family: 'ipv4' | 'ipv6';
  list: BlockList;
  port: number | undefined;
}

type Rule = HostRule | AddressRule;

export class EgressRefused extends Error {
  readonly code = 'EGRESS_REFUSED';
}

const stripBrackets = (host: string) =>
  host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
const family = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** `*` matches any run of characters inside one label (linear: at most one backtrack point). */
function labelMatches(pattern: string, label: string): boolean {
  let p = 0;
  let l = 0;
  let star = -1;
  let mark = 0;
  while (l < label.length) {
    if (p < pattern.length && pattern[p] === label[l]) {
      p++;
      l++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = l;
    } else if (star >= 0) {
      p = star + 1;
      l = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function parsePort(text: string | undefined, entry: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in '${entry}'`);
  return port;
}

/** One allow-list entry: `host`, `*.domain`, `host:port`, `1.2.3.4`, `10.0.0.0/8`, `[::1]:8080`, `fd00::/8`. */
function parseRule(entry: string): Rule {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?:\/(\d{1,3}))?(?::(\d+))?$/.exec(entry);
  const ipv4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?(?::(\d+))?$/.exec(entry);
  const bareV6 = !bracketed && !ipv4 && /^[0-9a-fA-F:]+:[0-9a-fA-F:.]*(?:\/(\d{1,3}))?$/.test(entry);
  if (bracketed || ipv4 || bareV6) {
    const [address, prefix, port] = bracketed
      ? [bracketed[1], bracketed[2], bracketed[3]]
      : ipv4
        ? [ipv4[1], ipv4[2], ipv4[3]]
        : [entry.split('/')[0], entry.split('/')[1], undefined];
    if (!isIP(address)) throw new Error(`'${entry}' is not a valid address`);
    const list = new BlockList();
    const type = family(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (bits === undefined) list.addAddress(address, type);
    else if (bits > (type === 'ipv4' ? 32 : 128)) throw new Error(`bad prefix in '${entry}'`);
    else list.addSubnet(address, bits, type);
    return { kind: 'address', family: type, list, port: parsePort(port, entry) };
  }
  const host =
    /^((?:\*|[a-z0-9*](?:[a-z0-9*-]{0,61}[a-z0-9*])?)(?:\.(?:[a-z0-9*](?:[a-z0-9*-]{0,61}[a-z0-9*])?))*)(?::(\d+))?$/i.exec(
      entry,
    );
  if (!host) throw new Error(`'${entry}' is not a host name, address or CIDR range`);
  return { kind: 'host', labels: host[1].toLowerCase().split('.'), port: parsePort(host[2], entry) };
}

/** Parses UPSTREAM_ALLOWED_HOSTS; throws listing the first bad entry. */
export function parseAllowedHosts(value: string): Rule[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseRule);
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/**
 * Where user-supplied upstream URLs may go. A URL's host must match an entry (a host pattern, or an
 * address/CIDR entry for an IP literal), with the entry's port if it has one. Every address the host
 * resolves to must be public, or covered by an address entry: a listed name that resolves to an internal
 * address (DNS rebinding, `localhost`) is refused. `lookup` applies the same rule on every connection.
 */
export class EgressPolicy {
  private readonly rules: Rule[];

  constructor(
    allowedHosts: string,
    private readonly resolver: Resolver = systemResolver,
  ) {
    this.rules = parseAllowedHosts(allowedHosts);
  }

  /** Why the URL's host may not be used (before DNS), or undefined. */
  refuseHost(hostname: string, port: number): string | undefined {
    const host = stripBrackets(hostname).toLowerCase().replace(/\.$/, '');
    if (isIP(host)) {
      return this.addressAllowed(host, port)
        ? undefined
        : `${display(host, port)} is not in UPSTREAM_ALLOWED_HOSTS`;
    }
    const labels = host.split('.');
    const listed = this.rules.some(
      (rule) =>
        rule.kind === 'host' &&
        (rule.port === undefined || rule.port === port) &&
        rule.labels.length === labels.length &&
        rule.labels.every((pattern, i) => labelMatches(pattern, labels[i])),
    );
    return listed ? undefined : `host '${host}' (port ${port}) is not in UPSTREAM_ALLOWED_HOSTS`;
  }

  /** A resolved (or literal) address: public, or covered by an address entry of the list. */
  addressAllowed(address: string, port: number): boolean {
    const ip = stripBrackets(address);
    const type = family(ip);
    const covered = this.rules.some(
      (rule) =>
        rule.kind === 'address' &&
        rule.family === type &&
        (rule.port === undefined || rule.port === port) &&
        rule.list.check(ip, type),
    );
    // Each family against its own list: BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules.
    return covered || !(type === 'ipv4' ? INTERNAL_V4 : INTERNAL_V6).check(ip, type);
  }

  /**
   * Config-time check of a URL: scheme, host and the addresses it resolves to now. A host that does not
   * resolve yet is accepted (every connection is checked again).
   */
  async checkUrl(url: string): Promise<string | undefined> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `'${url.slice(0, 200)}' is not a valid URL`;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      return `'${parsed.protocol}' URLs are not allowed (http or https only)`;
    }
    if (parsed.username || parsed.password) return 'URLs with credentials are not allowed';
    const port = Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80);
    const refused = this.refuseHost(parsed.hostname, port);
    if (refused) return refused;
    const host = stripBrackets(parsed.hostname);
    if (isIP(host)) return undefined;
    let addresses: LookupAddress[];
    try {
      addresses = await withTimeout(this.resolver(host), 3000);
    } catch {
      return undefined;
    }
    const bad = addresses.find((a) => !this.addressAllowed(a.address, port));
    return bad
      ? `host '${host}' resolves to ${bad.address}, an internal address not in UPSTREAM_ALLOWED_HOSTS`
      : undefined;
  }

  /** A `lookup` for net/tls.connect that only ever returns allowed addresses for connections to `port`. */
  lookupFor(port: number): LookupFunction {
    return (hostname, options, callback) => {
      this.resolver(hostname).then(
        (addresses) => {
          const allowed = addresses.filter((a) => this.addressAllowed(a.address, port));
          if (allowed.length === 0) {
            const first = addresses[0]?.address ?? 'nothing';
            callback(
              new EgressRefused(
                `refused connection: '${hostname}' resolves to ${first}, not in UPSTREAM_ALLOWED_HOSTS`,
              ),
              '',
              0,
            );
            return;
          }
          if (options.all) {
            (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
          } else {
            callback(null, allowed[0].address, allowed[0].family);
          }
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }
}

function display(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
