import {
  EndpointLimit,
  ModelReference,
  PREDICT_ENDPOINT_TYPE,
  REGISTRY_PROVIDER,
} from 'src/config/gateway-config.types';
import { formatModelReference } from 'src/config/model-uri';
import { CachePolicyInput } from 'src/modules/cache/cache-policy';
import {
  ModelEndpointEntry,
  ModelServingTarget,
  ServingInstance,
} from 'src/modules/routing/model-endpoint.entry';
import type { ScoringBatchSettings } from 'src/config/extensions/scoring-batch.config';
import { DEFAULT_PREDICT_BALANCING, ModelDeclaration } from 'src/modules/routing/route-table';
import {
  BalancingConfig,
  HealthCheckPolicy,
  ResiliencePolicy,
} from 'src/modules/routing/traffic/traffic-policy';
import { RegistryModel, RegistrySnapshot, RegistryVersion } from 'src/modules/registry/registry.types';

export type HealthState = 'up' | 'down' | 'unknown';

export interface ResolveOptions {
  snapshot: RegistrySnapshot | undefined;
  /** Names taken by gateway.yaml LLM endpoints and traffic routes (they win over auto-exposure). */
  reservedNames: ReadonlySet<string>;
  servingUrlTag: string;
  servingUrlTemplate: string | undefined;
  exposeTag: string;
  exposeAlias: string;
  defaultTimeoutMs: number;
  /**
   * Hosts (`host` or `host:port`, lower case) a serving address may point at; undefined = any. Registry
   * tags are written by whoever may edit models, so this keeps the gateway from calling arbitrary hosts.
   */
  allowedHosts?: ReadonlySet<string>;
  /** Top-level `gatehouse.cache`, for auto-exposed endpoints. */
  cacheDefaults?: CachePolicyInput;
}

/** One predict endpoint before the health view is applied. */
export interface Candidate {
  name: string;
  modelUri: string;
  reference: ModelReference;
  origin: 'config' | 'auto';
  limit: EndpointLimit | null;
  path: string | undefined;
  timeoutMs: number;
  target: ModelServingTarget | undefined;
  unavailable: string | undefined;
  cache?: CachePolicyInput;
  balancing: BalancingConfig;
  resilience?: ResiliencePolicy;
  /** `gatehouse.fallbacks` by name (declared endpoints only). */
  fallbacks?: readonly string[];
  /** `gatehouse.batch` (declared endpoints only). */
  batch?: ScoringBatchSettings;
}

/** A scoring server to health-check, with the check of the (first) endpoint that routes to it. */
export interface ServingProbe {
  url: string;
  /** `gatehouse.health_check` of the endpoint; undefined = the registry default (`/ping`). */
  check: HealthCheckPolicy | undefined;
  /** Probe through the allow-listed pool (see ModelServingTarget.restricted). */
  restricted: boolean;
}

/** The retry of a version with several scoring servers that sets no `gatehouse.retry`: try up to 3 of them. */
function defaultInstanceRetry(instances: number): ResiliencePolicy['retry'] {
  return {
    attempts: Math.min(instances, 3),
    backoffMs: 0,
    maxBackoffMs: 0,
    retryAfterCapMs: 5_000,
    budget: { ratio: 0.2, minRetries: 3, windowMs: 10_000 },
  };
}

const ENDPOINT_NAME = /^[a-zA-Z0-9_\-.]+$/;
const PREDICT_PATH = /^\/predict\/[A-Za-z0-9_\-.]+(\/[A-Za-z0-9_\-.]+)*$/;
/** Model tag that picks the alias an auto-exposed model follows. */
export const EXPOSE_ALIAS_TAG = 'gatehouse.alias';
/** Model tag giving an auto-exposed model an extra path under /predict/. */
export const EXPOSE_PATH_TAG = 'gatehouse.path';

/** Resolves declared and auto-exposed predict endpoints to a registry version and its serving URL. */
export function resolveCandidates(
  declarations: readonly ModelDeclaration[],
  options: ResolveOptions,
): Candidate[] {
  const models = new Map((options.snapshot?.models ?? []).map((m) => [m.name, m]));
  const candidates: Candidate[] = declarations.map((declaration) => {
    const resolved = resolveTarget(
      declaration.name,
      declaration.reference,
      models,
      options,
      declaration.servingUrlTemplate ?? options.servingUrlTemplate,
      declaration.restrictedEgress === true && declaration.servingUrlTemplate !== undefined,
    );
    return {
      name: declaration.name,
      modelUri: declaration.modelUri,
      reference: declaration.reference,
      origin: 'config',
      limit: declaration.limit,
      path: declaration.path,
      timeoutMs: declaration.timeoutMs ?? options.defaultTimeoutMs,
      cache: declaration.cache,
      balancing: declaration.balancing ?? DEFAULT_PREDICT_BALANCING,
      ...(declaration.resilience ? { resilience: declaration.resilience } : {}),
      ...(declaration.fallbacks ? { fallbacks: declaration.fallbacks } : {}),
      ...(declaration.batch ? { batch: declaration.batch } : {}),
      ...resolved,
    };
  });
  const taken = new Set([...options.reservedNames, ...declarations.map((d) => d.name)]);
  const paths = new Set(declarations.map((d) => d.path).filter(Boolean));
  for (const model of options.snapshot?.models ?? []) {
    if ((model.tags[options.exposeTag] ?? '').trim().toLowerCase() !== 'true') continue;
    if (!ENDPOINT_NAME.test(model.name) || taken.has(model.name)) continue;
    const reference = autoReference(model, options.exposeAlias);
    const pathTag = model.tags[EXPOSE_PATH_TAG];
    const path = pathTag && PREDICT_PATH.test(pathTag) && !paths.has(pathTag) ? pathTag : undefined;
    if (path) paths.add(path);
    candidates.push({
      name: model.name,
      modelUri: formatModelReference(reference),
      reference,
      origin: 'auto',
      limit: null,
      path,
      timeoutMs: options.defaultTimeoutMs,
      cache: options.cacheDefaults,
      balancing: DEFAULT_PREDICT_BALANCING,
      ...resolveTarget(model.name, reference, models, options, options.servingUrlTemplate),
    });
  }
  return candidates;
}

/**
 * Applies the serving health view (a version whose scoring servers all fail their health check is not
 * routed to; failing instances leave the rotation), then links `gatehouse.fallbacks` to the entries.
 */
export function toEntries(
  candidates: readonly Candidate[],
  health: (url: string) => HealthState,
): ModelEndpointEntry[] {
  const entries = candidates.map((candidate): ModelEndpointEntry => {
    let { target, unavailable } = candidate;
    if (target?.instances) {
      // Instances failing their check leave the rotation; the version is unavailable only when all do.
      // The list stays (even with one left), so each server keeps its `#n` label.
      const up = target.instances.filter((instance) => health(instance.url) !== 'down');
      if (up.length > 0) target = { version: target.version, url: up[0].url, instances: up };
    }
    if (target && health(target.url) === 'down') {
      unavailable =
        `Model '${candidate.reference.name}' version ${target.version} (endpoint '${candidate.name}') ` +
        'is unavailable: its scoring server failed its health check.';
      target = undefined;
    }
    const retry =
      candidate.resilience?.retry ??
      (target?.instances ? defaultInstanceRetry(target.instances.length) : undefined);
    const resilience =
      candidate.resilience || retry
        ? { breaker: undefined, deadlineMs: undefined, ...candidate.resilience, retry }
        : undefined;
    return {
      kind: 'model',
      name: candidate.name,
      endpointType: PREDICT_ENDPOINT_TYPE,
      provider: REGISTRY_PROVIDER,
      modelUri: candidate.modelUri,
      registeredModel: candidate.reference.name,
      origin: candidate.origin,
      limit: candidate.limit,
      path: candidate.path,
      timeoutMs: candidate.timeoutMs,
      target,
      unavailable,
      ...(candidate.cache === undefined ? {} : { cache: candidate.cache }),
      key: target ? `${candidate.name}@${target.version}` : candidate.name,
      balancing: candidate.balancing,
      ...(resilience ? { resilience } : {}),
      ...(candidate.batch ? { batch: candidate.batch } : {}),
      ...(target?.instances
        ? {
            instances: {
              list: target.instances,
              algorithm: candidate.balancing.algorithm,
              ejection: candidate.balancing.ejection,
            },
          }
        : {}),
    };
  });
  const declared = new Map(entries.filter((e) => e.origin === 'config').map((e) => [e.name, e]));
  candidates.forEach((candidate, index) => {
    const chain = (candidate.fallbacks ?? []).flatMap((name) => declared.get(name) ?? []);
    // Built here, before the entries are published: the snapshot stays immutable for readers.
    if (chain.length > 0) entries[index].fallbacks = chain;
  });
  return entries;
}

/** Every scoring server the candidates route to, each with its endpoint's health check. */
export function probesOf(candidates: readonly Candidate[]): ServingProbe[] {
  const probes = new Map<string, ServingProbe>();
  for (const candidate of candidates) {
    if (!candidate.target) continue;
    const urls = candidate.target.instances?.map((i) => i.url) ?? [candidate.target.url];
    for (const url of urls) {
      if (!probes.has(url)) {
        probes.set(url, {
          url,
          check: candidate.balancing.healthCheck,
          restricted: candidate.target.restricted === true,
        });
      }
    }
  }
  return [...probes.values()];
}

/** An auto-exposed model follows its `gatehouse.alias` tag, else the default alias, else its newest READY version. */
function autoReference(model: RegistryModel, defaultAlias: string): ModelReference {
  const alias = model.tags[EXPOSE_ALIAS_TAG] || defaultAlias;
  if (model.aliases[alias] !== undefined) return { name: model.name, kind: 'alias', alias };
  const newest = [...model.versions].reverse().find((v) => v.status === 'READY');
  return { name: model.name, kind: 'version', version: newest?.version ?? '1' };
}

function resolveTarget(
  endpoint: string,
  reference: ModelReference,
  models: ReadonlyMap<string, RegistryModel>,
  options: ResolveOptions,
  template: string | undefined,
  restrictedTemplate = false,
): { target: ModelServingTarget | undefined; unavailable: string | undefined } {
  const uri = formatModelReference(reference);
  const fail = (why: string) => ({ target: undefined, unavailable: `${uri} cannot be served: ${why}` });
  if (!options.snapshot) return fail('the model registry has not been synced yet.');
  const model = models.get(reference.name);
  if (!model) return fail(`registered model '${reference.name}' does not exist in the registry.`);
  const version = pickVersion(model, reference);
  if (typeof version === 'string') return fail(version);
  if (version.status !== 'READY') {
    return fail(`version ${version.version} is ${version.status}; only READY versions are routable.`);
  }
  const served = servingUrl(version, model.name, options.servingUrlTag, template);
  const address = served?.address;
  if (!address) {
    return fail(
      `version ${version.version} has no serving address (set its '${options.servingUrlTag}' tag or a serving_url_template).`,
    );
  }
  // Several scoring servers of one version: the address lists them, separated by commas or spaces,
  // each with an optional `#weight=N` (a fragment is never sent to the server).
  const parsed = address
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parseAddress);
  if (!parsed.every((a) => a !== undefined && isHttpUrl(a.url))) {
    return fail(`version ${version.version} has an invalid serving address.`);
  }
  const addresses = parsed as { url: string; weight: number }[];
  if (options.allowedHosts && !addresses.every((a) => hostAllowed(a.url, options.allowedHosts!))) {
    return fail(`version ${version.version} is served from a host outside REGISTRY_SERVING_HOSTS.`);
  }
  const instances: ServingInstance[] = [];
  for (const { url, weight } of addresses) {
    const base = url.replace(/\/+$/, '');
    if (instances.some((i) => i.url === base)) continue;
    instances.push({ key: `${endpoint}@${version.version}#${instances.length + 1}`, url: base, weight });
  }
  // A tag is written by whoever may edit models: unless REGISTRY_SERVING_HOSTS vetted its hosts above,
  // it gets the allow-listed pool, like a template from the admin API.
  const restricted = served.fromTag ? !options.allowedHosts : restrictedTemplate;
  return {
    target: {
      version: version.version,
      url: instances[0].url,
      ...(instances.length > 1 ? { instances } : {}),
      ...(restricted ? { restricted: true } : {}),
    },
    unavailable: undefined,
  };
}

/** `http://host:port[/path][#weight=N]` → the URL and its weight; undefined for a bad weight. */
function parseAddress(text: string): { url: string; weight: number } | undefined {
  const hash = text.indexOf('#');
  if (hash < 0) return { url: text, weight: 1 };
  const match = /^weight=([1-9][0-9]{0,5})$/.exec(text.slice(hash + 1));
  return match ? { url: text.slice(0, hash), weight: Number(match[1]) } : undefined;
}

function pickVersion(model: RegistryModel, reference: ModelReference): RegistryVersion | string {
  if (reference.kind === 'alias') {
    const number = model.aliases[reference.alias];
    if (number === undefined) return `alias '${reference.alias}' is not set on '${model.name}'.`;
    return model.versions.find((v) => v.version === number) ?? `version ${number} does not exist.`;
  }
  if (reference.kind === 'version') {
    return (
      model.versions.find((v) => v.version === reference.version) ??
      `version ${reference.version} does not exist.`
    );
  }
  const stage = reference.stage.toLowerCase();
  const inStage = model.versions.filter((v) => v.stage.toLowerCase() === stage && v.status === 'READY');
  return inStage.at(-1) ?? `no READY version is in stage '${reference.stage}'.`;
}

function servingUrl(
  version: RegistryVersion,
  name: string,
  tag: string,
  template: string | undefined,
): { address: string; fromTag: boolean } | undefined {
  const tagged = version.tags[tag]?.trim();
  if (tagged) return { address: tagged, fromTag: true };
  if (!template) return undefined;
  const address = template
    .replace(/\{name\}/g, encodeURIComponent(name))
    .replace(/\{version\}/g, encodeURIComponent(version.version));
  return { address, fromTag: false };
}

function hostAllowed(value: string, allowed: ReadonlySet<string>): boolean {
  const url = new URL(value);
  return allowed.has(url.hostname.toLowerCase()) || allowed.has(url.host.toLowerCase());
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
  } catch {
    return false;
  }
}
