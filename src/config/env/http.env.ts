import { isIP } from 'node:net';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** An address or CIDR that names proxies, never "everyone" (a /0 prefix). */
function proxyAddressProblem(entry: string): string | undefined {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return `'${entry.slice(0, 64)}' is not an address or CIDR`;
  if (prefix === undefined) return undefined;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128)))
    return `'${entry.slice(0, 64)}' has a bad prefix length`;
  if (bits === 0) return `'${entry.slice(0, 64)}' would trust every address`;
  return undefined;
}

/** The HTTP listener: slow clients and proxies (src/bootstrap.ts). */
export const httpEnv = {
  /**
   * Admission control: new data-plane requests get 503 `overloaded` with `Retry-After: 1` while the
   * process has a standing queue: its event loop busy (no idle time) and even the quickest request of
   * every 100 ms window taking more than this many ms from arrival to answer (health, metrics, admin and
   * console routes are never shed). 0 (the default) turns it off: on a host whose CPU other processes
   * saturate it also sheds load the process would serve. 500 is the measured setting. See
   * docs/reliability.md (R8).
   */
  ADMISSION_TARGET_DELAY_MS: int(0, 60_000).default(0),
  /**
   * How long that queue must stand, with requests in flight not draining, before shedding starts: a
   * burst that drains within it is admitted whole.
   */
  ADMISSION_INTERVAL_MS: int(100, 600_000).default(1_000),
  /**
   * Time a client has to send a whole request, headers and body (Node's requestTimeout); past it the
   * request gets 408 and its connection is closed. 0 turns it off.
   */
  REQUEST_BODY_TIMEOUT_MS: int(0, 3_600_000).default(60_000),
  /** Time a client has to send the request headers (Node's headersTimeout); at most REQUEST_BODY_TIMEOUT_MS. */
  REQUEST_HEADERS_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /**
   * Behind a load balancer: which proxies to trust for X-Forwarded-For, so the client address (failure
   * limits, audit) is the caller's, not the proxy's. A hop count (the number of proxies in front of the
   * gateway) or the proxies' addresses/CIDRs (comma list). `true` (trust any X-Forwarded-For) is refused:
   * anyone could then pick the address their failures are counted against.
   */
  TRUST_PROXY: z
    .string()
    .transform((v) => v.trim())
    .superRefine((value, ctx) => {
      if (value === 'false' || /^\d{1,2}$/.test(value)) return;
      if (value === 'true' || value === '*') {
        ctx.addIssue({
          code: 'custom',
          message: 'true would trust any X-Forwarded-For; give the hop count or the proxies addresses/CIDRs',
        });
        return;
      }
      for (const entry of value.split(',')) {
        const problem = proxyAddressProblem(entry.trim());
        if (problem)
          ctx.addIssue({ code: 'custom', message: `must be a hop count or addresses/CIDRs: ${problem}` });
      }
    })
    .transform((v): false | number | string[] =>
      v === 'false' || v === '0' ? false : /^\d+$/.test(v) ? Number(v) : v.split(',').map((s) => s.trim()),
    )
    .default(false),
};
