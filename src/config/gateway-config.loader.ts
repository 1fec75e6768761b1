import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { LineCounter, parseDocument } from 'yaml';

import {
  EndpointFileConfig,
  EndpointLimit,
  GatewayConfigError,
  GatewayFileConfig,
  ModelEndpointFileConfig,
  PREDICT_ENDPOINT_TYPE,
  PREDICT_TRAFFIC_KEYS,
  PredictRouteFileConfig,
  REGISTRY_PROVIDER,
  TrafficRouteFileConfig,
} from 'src/config/gateway-config.types';
import { parseModelUri } from 'src/config/model-uri';
import type { EndpointType } from 'src/modules/providers/provider-adapter';
import { readPromptBinding } from 'src/config/extensions/prompt-binding.config';
import { readConversationSettings } from 'src/config/extensions/conversation-settings.config';
import { readScoringBatchSettings } from 'src/config/extensions/scoring-batch.config';
import { RAG_PROVIDER, readRagSettings } from 'src/config/extensions/rag-settings.config';

/*
 * Reads MLflow AI Gateway YAML files (MLflow >= 2.9: `endpoints:` + optional traffic-split `routes:`)
 * with MLflow's validation rules (mlflow/gateway/config.py, mlflow/gateway/utils.py). Where MLflow has a
 * message we reuse its wording; unlike MLflow, which stops at the first error, every problem is collected.
 */

export interface GatewayConfigParseOptions {
  env: Record<string, string | undefined>;
  /** Normalised provider ids (see `normaliseProvider`). */
  knownProviders: ReadonlySet<string>;
  /** Directory that relative api-key file paths are resolved against (the config file's directory). */
  baseDir: string;
  /**
   * Entries created through the admin API (by name): their `$…` references resolve against `env` of
   * their own (stored secrets only, never the process environment) and never read key files.
   */
  apiEntries?: { names: ReadonlySet<string>; env: Record<string, string | undefined> };
}

type RawMap = Record<string, unknown>;

interface Context extends GatewayConfigParseOptions {
  problems: string[];
  /** False while reading an admin-API entry: a literal is never taken as a key file path. */
  readKeyFiles?: boolean;
  /** Locations (`endpoints[3]`, `routes[0]`) whose name was already used by an earlier entry. */
  duplicateNames: ReadonlySet<string>;
}

const ENDPOINT_TYPES: readonly EndpointType[] = ['llm/v1/completions', 'llm/v1/chat', 'llm/v1/embeddings'];
const ENDPOINT_NAME = /^[a-zA-Z0-9_\-.]+$/;

/*
 * Keys whose values MLflow resolves with `_resolve_api_key_from_input`, at any depth of `model.config`:
 * every key ending in `api_key` (`openai_api_key`, `anthropic_api_key`, …, the OpenAI-compatible providers'
 * `api_key`, `litellm_auth_config.api_key`), Databricks' `token`, and the AWS secrets under `aws_config`.
 * Vertex AI's `vertex_credentials` (a service-account key as JSON text or a key file path, which MLflow's
 * Vertex provider reads the same way) is resolved alike, so `$VAR` works for it too.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'databricks_api_token',
  'aws_secret_access_key',
  'aws_session_token',
  'aws_bearer_token',
  'vertex_credentials',
]);

/*
 * MLflow validates `limits.parse(f"{calls}/{renewal_period}")`, so renewal_period is what the `limits`
 * grammar accepts after the slash: an optional multiple and a granularity, optionally plural, any case.
 * Seconds per granularity are the `limits` library's (a month is 30 days, a year 12 such months).
 */
const RENEWAL_PERIOD = /^\s*([0-9]+)?\s*(second|minute|hour|day|month|year)s?\s*$/i;
const GRANULARITY_SECONDS: Readonly<Record<string, number>> = {
  second: 1,
  minute: 60,
  hour: 3_600,
  day: 86_400,
  month: 2_592_000,
  year: 31_104_000,
};

const MESSAGES = {
  invalidName: (name: string) =>
    'The route name provided contains disallowed characters for a url endpoint. ' +
    `'${name}' is invalid. Names cannot contain spaces or any non ` +
    'alphanumeric characters other than hyphen and underscore.',
  duplicateName:
    'Duplicate names found in endpoint / route configurations. ' +
    'Please remove the duplicate endpoint / route name ' +
    'from the configuration to ensure that endpoints / routes are created properly.',
  routeTypeKey:
    "The 'route_type' configuration key is not supported in the configuration file. " +
    "Use 'endpoint_type' instead.",
  unsupportedType: (value: string) => `The route_type '${value}' is not supported.`,
  unsupportedProvider: (value: string) => `The provider '${value}' is not supported.`,
  missingConfig: (provider: string) =>
    'A config must be supplied when setting a provider. The provider entry for ' +
    `${provider} is incorrect.`,
  apiKeyNotString:
    'The api key provided is not a string. Please provide either an environment ' +
    'variable key, a path to a file containing the api key, or the api key itself',
  envNotSet: (name: string, path: string) => `Environment variable '${name}' for ${path} is not set.`,
  limitUnparsable: (detail: string) =>
    'Failed to parse the rate limit configuration. Please make sure limit.calls is a positive number ' +
    `and limit.renewal_period is a right granularity (${detail}).`,
  invalidDestination: (route: string, destination: string) =>
    'The route destination name must be a endpoint name, ' +
    `but the route '${route}' has an invalid destination name '${destination}'.`,
  destinationTypeMismatch: (route: string, taskType: string, destinationType: string) =>
    `The route destination endpoint types in the route '${route}' must have ` +
    `endpoint type '${taskType}' but got endpoint type '${destinationType}'.`,
  mixedRoute: (route: string, taskType: string, destination: string, destinationType: string) =>
    `The route '${route}' (task_type ${taskType}) cannot send traffic to '${destination}', an ` +
    `${destinationType} endpoint: a route splits traffic across ${PREDICT_ENDPOINT_TYPE} endpoints ` +
    '(registry models) or across LLM endpoints of one type, never both.',
  percentageRange: 'The route destination traffic percentage must between 0 and 100.',
  percentageSum: (route: string) =>
    'For each route configuration, the traffic percentage sum of destinations ' +
    `must be 100, but got invalid configuration of route '${route}'.`,
  pre29:
    "This is a pre-MLflow-2.9 configuration (top-level 'routes' entries with 'route_type' and 'model'). " +
    "List them under 'endpoints' and rename 'route_type' to 'endpoint_type'; since MLflow 2.9 'routes' " +
    'only holds traffic splits across endpoints.',
};

/** MLflow compares `value.replace("-", "_").upper()` with its `Provider` enum; we keep the lower-case dashed form. */
export function normaliseProvider(value: string): string {
  return value.replace(/_/g, '-').toLowerCase();
}

/** Seconds in one window of a `limit.renewal_period` the loader accepted (`minute` → 60, `5 minutes` → 300). */
export function renewalPeriodSeconds(renewalPeriod: string): number | undefined {
  const match = RENEWAL_PERIOD.exec(renewalPeriod);
  if (!match) return undefined;
  // `limits` treats a missing or zero multiple as 1.
  const multiple = Number(match[1] ?? '1') || 1;
  return multiple * GRANULARITY_SECONDS[match[2].toLowerCase()];
}

export function parseGatewayConfig(text: string, options: GatewayConfigParseOptions): GatewayFileConfig {
  const problems: string[] = [];
  const root = parseYaml(text, problems);
  const config = problems.length === 0 ? readRoot(root, options, problems) : undefined;
  if (!config || problems.length > 0) throw new GatewayConfigError(problems);
  return config;
}

/*
 * MLflow reads the file with PyYAML `safe_load` (YAML 1.1). We parse with the YAML 1.2 core schema plus
 * merge keys: anchors and `<<:` work as in PyYAML, and plain scalars PyYAML would turn into booleans or
 * dates (`on`, `2024-01-01`) stay strings, which accepts a superset. Duplicate keys keep the last value,
 * as PyYAML does.
 */
function parseYaml(text: string, problems: string[]): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { merge: true, uniqueKeys: false, prettyErrors: false, lineCounter });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    problems.push(`YAML syntax error at line ${line}, column ${col}: ${error.message}`);
    return undefined;
  }
  try {
    return doc.toJS();
  } catch (err) {
    problems.push(`YAML error: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

function readRoot(
  root: unknown,
  options: GatewayConfigParseOptions,
  problems: string[],
): GatewayFileConfig | undefined {
  if (!isMap(root)) {
    problems.push("(top level): The configuration must be a mapping with an 'endpoints' list.");
    return undefined;
  }
  if (isPre29Config(root)) {
    problems.push(`routes: ${MESSAGES.pre29}`);
    return undefined;
  }
  const rawEndpoints = readList(root, 'endpoints', true, problems);
  const rawRoutes = readList(root, 'routes', false, problems);
  const ctx: Context = { ...options, problems, duplicateNames: findDuplicateNames(rawEndpoints, rawRoutes) };
  const extensions = readExtensions(root.gatehouse, '(top level)', ctx);
  const endpoints: (EndpointFileConfig | undefined)[] = [];
  const modelEndpoints: (ModelEndpointFileConfig | undefined)[] = [];
  rawEndpoints.forEach((raw, index) => {
    if (isMap(raw) && raw.endpoint_type === PREDICT_ENDPOINT_TYPE) {
      modelEndpoints.push(readModelEndpoint(raw, index, ctx));
    } else {
      endpoints.push(readEndpoint(raw, index, ctx));
    }
  });
  const endpointTypes = endpointTypesByName(rawEndpoints);
  const allRoutes = rawRoutes
    .map((raw, index) => readRoute(raw, index, endpointTypes, ctx))
    .filter(isDefined);
  const routes = allRoutes.filter((r): r is TrafficRouteFileConfig => r.taskType !== PREDICT_ENDPOINT_TYPE);
  const predictRoutes = allRoutes.filter(
    (r): r is PredictRouteFileConfig => r.taskType === PREDICT_ENDPOINT_TYPE,
  );
  const models = modelEndpoints.filter(isDefined);
  return {
    endpoints: endpoints.filter(isDefined),
    routes,
    ...(models.length > 0 ? { modelEndpoints: models } : {}),
    ...(predictRoutes.length > 0 ? { predictRoutes } : {}),
    extensions,
  };
}

function isPre29Config(root: RawMap): boolean {
  if ('endpoints' in root || !Array.isArray(root.routes)) return false;
  return root.routes.some((route) => isMap(route) && ('route_type' in route || 'model' in route));
}

function readList(root: RawMap, key: string, required: boolean, problems: string[]): unknown[] {
  const value = root[key];
  if (Array.isArray(value)) return value;
  if (!required && (value === undefined || value === null)) return [];
  const message =
    value === undefined
      ? `'${key}' is required: MLflow gateway files list their endpoints under it (use '${key}: []' for none).`
      : `'${key}' must be a list.`;
  problems.push(`${key}: ${message}`);
  return [];
}

/** MLflow rejects a name reused anywhere across endpoints and routes; we flag every later use. */
function findDuplicateNames(rawEndpoints: unknown[], rawRoutes: unknown[]): Set<string> {
  const entries = [
    ...rawEndpoints.map((raw, index) => ({ raw, key: `endpoints[${index}]` })),
    ...rawRoutes.map((raw, index) => ({ raw, key: `routes[${index}]` })),
  ];
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { raw, key } of entries) {
    const name = isMap(raw) ? raw.name : undefined;
    if (typeof name !== 'string') continue;
    if (seen.has(name)) duplicates.add(key);
    seen.add(name);
  }
  return duplicates;
}

function endpointTypesByName(rawEndpoints: unknown[]): Map<string, unknown> {
  const types = new Map<string, unknown>();
  for (const raw of rawEndpoints) {
    if (isMap(raw) && typeof raw.name === 'string') types.set(raw.name, raw.endpoint_type);
  }
  return types;
}

function readEndpoint(raw: unknown, index: number, fileCtx: Context): EndpointFileConfig | undefined {
  const key = `endpoints[${index}]`;
  const at = locate(key, raw);
  if (!isMap(raw)) {
    report(fileCtx, at, 'An endpoint must be a mapping.');
    return undefined;
  }
  const api = fileCtx.apiEntries;
  const ctx: Context =
    api && typeof raw.name === 'string' && api.names.has(raw.name)
      ? { ...fileCtx, env: api.env, readKeyFiles: false }
      : fileCtx;
  const name = readName(raw, key, at, ctx, true);
  const endpointType = readEndpointType(raw, at, ctx);
  // A RAG endpoint answers through its `gatehouse.rag.llm_endpoint`: it needs no model of its own.
  const ragDeclared = isMap(raw.gatehouse) && raw.gatehouse.rag !== undefined && raw.gatehouse.rag !== null;
  const model =
    ragDeclared && (raw.model === undefined || raw.model === null)
      ? { provider: RAG_PROVIDER, rawProvider: RAG_PROVIDER, name: undefined, config: {} }
      : readModel(raw.model, at, ctx);
  const limit = readLimit(raw.limit, at, ctx);
  const extensions = resolveInstanceSecrets(readExtensions(raw.gatehouse, at, ctx), at, ctx);
  const rag = readRagSettings(extensions.rag);
  rag.problems.forEach((problem) => report(ctx, at, problem));
  if (extensions.rag !== undefined && endpointType !== undefined && endpointType !== 'llm/v1/chat') {
    report(ctx, at, "'gatehouse.rag' is only supported on llm/v1/chat endpoints.");
  }
  const prompt = readPromptBinding(extensions.prompt);
  prompt.problems.forEach((problem) => report(ctx, at, problem));
  if (prompt.binding && endpointType !== undefined && endpointType !== 'llm/v1/chat') {
    report(ctx, at, "'gatehouse.prompt' is only supported on llm/v1/chat endpoints.");
  }
  const conversation = readConversationSettings(extensions.conversation);
  conversation.problems.forEach((problem) => report(ctx, at, problem));
  if (name === undefined || endpointType === undefined || model === undefined || limit === undefined) {
    return undefined;
  }
  return {
    name,
    endpointType,
    model,
    limit,
    extensions,
    prompt: prompt.binding,
    conversation: conversation.settings,
    ...(rag.settings ? { rag: rag.settings } : {}),
  };
}

/*
 * `endpoint_type: ml/v1/predict` is a Gatehouse extension (MLflow's gateway rejects the type): the model
 * is a registry reference, served by whatever scoring server the version's tag or the URL template names.
 */
function readModelEndpoint(raw: RawMap, index: number, ctx: Context): ModelEndpointFileConfig | undefined {
  const key = `endpoints[${index}]`;
  const at = locate(key, raw);
  const name = readName(raw, key, at, ctx, true);
  const limit = readLimit(raw.limit, at, ctx);
  const ext = readExtensions(raw.gatehouse, at, ctx);
  const model = raw.model;
  let reference: ModelEndpointFileConfig['reference'] | undefined;
  let modelUri: string | undefined;
  if (!isMap(model)) {
    report(ctx, at, "'model' is required: a mapping with 'provider' and 'name'.");
  } else {
    if (model.provider !== REGISTRY_PROVIDER) {
      report(
        ctx,
        at,
        `'model.provider' of an ${PREDICT_ENDPOINT_TYPE} endpoint must be '${REGISTRY_PROVIDER}'.`,
      );
    }
    if (typeof model.name !== 'string') {
      report(ctx, at, "'model.name' must be a registry model URI such as models:/<name>@<alias>.");
    } else {
      const parsed = parseModelUri(model.name);
      if (typeof parsed === 'string') report(ctx, at, `model.name: ${parsed}`);
      else {
        reference = parsed;
        modelUri = model.name;
      }
    }
  }
  const path = readPredictPath(ext.path, at, ctx);
  const template = ext.serving_url_template;
  if (template !== undefined && (typeof template !== 'string' || !/^https?:\/\//.test(template))) {
    report(
      ctx,
      at,
      "'gatehouse.serving_url_template' must be an http(s) URL template using {name} and {version}.",
    );
  }
  const timeout = ext.timeout_ms;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0)) {
    report(ctx, at, "'gatehouse.timeout_ms' must be a positive integer (milliseconds).");
  }
  if (ext.instances !== undefined) {
    report(
      ctx,
      at,
      "'gatehouse.instances' does not apply to ml/v1/predict endpoints: list a version's scoring servers " +
        "in its serving address (tag or serving_url_template), comma-separated, each with an optional '#weight=N'.",
    );
  }
  const batch = readScoringBatchSettings(ext.batch);
  batch.problems.forEach((problem) => report(ctx, at, problem));
  const traffic = Object.fromEntries(
    PREDICT_TRAFFIC_KEYS.filter((key) => ext[key] !== undefined).map((key) => [key, ext[key]]),
  );
  if (name === undefined || limit === undefined || reference === undefined || modelUri === undefined) {
    return undefined;
  }
  return {
    name,
    modelUri,
    reference,
    limit,
    path,
    servingUrlTemplate: typeof template === 'string' ? template : undefined,
    timeoutMs: typeof timeout === 'number' ? timeout : undefined,
    ...(ext.cache === undefined ? {} : { cache: ext.cache }),
    ...(Object.keys(traffic).length > 0 ? { traffic } : {}),
    ...(batch.settings ? { batch: batch.settings } : {}),
  };
}

const PREDICT_PATH = /^\/predict\/[A-Za-z0-9_\-.]+(\/[A-Za-z0-9_\-.]+)*$/;

/** Custom paths live under /predict/ so they can never shadow the gateway's own routes. */
function readPredictPath(value: unknown, at: string, ctx: Context): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && PREDICT_PATH.test(value)) return value;
  return report(
    ctx,
    at,
    `'gatehouse.path' must be a path under /predict/ made of letters, digits, '-', '_' and '.', got ${display(value)}.`,
  );
}

function readName(raw: RawMap, key: string, at: string, ctx: Context, urlSafe: boolean): string | undefined {
  const name = raw.name;
  if (name === undefined || name === null) return report(ctx, at, "'name' is required.");
  if (typeof name !== 'string') return report(ctx, at, "'name' must be a string.");
  // MLflow checks the URL-safe pattern on endpoint names only; route names are not checked.
  const valid = !urlSafe || ENDPOINT_NAME.test(name);
  if (!valid) report(ctx, at, MESSAGES.invalidName(name));
  if (ctx.duplicateNames.has(key)) report(ctx, at, MESSAGES.duplicateName);
  return valid ? name : undefined;
}

function readEndpointType(raw: RawMap, at: string, ctx: Context): EndpointType | undefined {
  if ('route_type' in raw) return report(ctx, at, MESSAGES.routeTypeKey);
  return readTaskType(raw.endpoint_type, 'endpoint_type', at, ctx);
}

function readTaskType(value: unknown, field: string, at: string, ctx: Context): EndpointType | undefined {
  if (value === undefined || value === null) return report(ctx, at, `'${field}' is required.`);
  if (isEndpointType(value)) return value;
  return report(ctx, at, MESSAGES.unsupportedType(display(value)));
}

function readModel(value: unknown, at: string, ctx: Context): EndpointFileConfig['model'] | undefined {
  if (value === undefined || value === null) return report(ctx, at, "'model' is required.");
  if (!isMap(value)) return report(ctx, at, "'model' must be a mapping.");
  const provider = readProvider(value.provider, at, ctx);
  const name = readModelName(value.name, at, ctx);
  const config = readModelConfig(value.config, provider?.provider, at, ctx);
  if (provider === undefined || name === null || config === undefined) return undefined;
  return { ...provider, name, config };
}

function readProvider(
  value: unknown,
  at: string,
  ctx: Context,
): { provider: string; rawProvider: string } | undefined {
  if (value === undefined || value === null) return report(ctx, at, "'model.provider' is required.");
  if (typeof value === 'string' && ctx.knownProviders.has(normaliseProvider(value))) {
    return { provider: normaliseProvider(value), rawProvider: value };
  }
  return report(ctx, at, MESSAGES.unsupportedProvider(display(value)));
}

/** `undefined` when absent (allowed), `null` when invalid. */
function readModelName(value: unknown, at: string, ctx: Context): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  report(ctx, at, "'model.name' must be a string.");
  return null;
}

function readModelConfig(
  value: unknown,
  provider: string | undefined,
  at: string,
  ctx: Context,
): RawMap | undefined {
  if (value === undefined || value === null) {
    // An unknown provider has already been reported; MLflow only demands a config for known ones.
    return provider === undefined ? undefined : report(ctx, at, MESSAGES.missingConfig(provider));
  }
  if (!isMap(value)) return report(ctx, at, "'model.config' must be a mapping.");
  return resolveSecrets(value, 'model.config', at, ctx);
}

/** `gatehouse.instances[].config` may carry keys of its own (`$VAR`, key file), resolved like `model.config`. */
function resolveInstanceSecrets(extensions: RawMap, at: string, ctx: Context): RawMap {
  const instances = extensions.instances;
  if (!Array.isArray(instances)) return extensions;
  return {
    ...extensions,
    instances: instances.map((item: unknown, index) =>
      isMap(item) && isMap(item.config)
        ? { ...item, config: resolveSecrets(item.config, `gatehouse.instances[${index}].config`, at, ctx) }
        : item,
    ),
  };
}

function resolveSecrets(config: RawMap, path: string, at: string, ctx: Context): RawMap {
  const entries = Object.entries(config).map(([key, value]) => [
    key,
    resolveEntry(key, value, `${path}.${key}`, at, ctx),
  ]);
  return Object.fromEntries(entries) as RawMap;
}

function resolveEntry(key: string, value: unknown, path: string, at: string, ctx: Context): unknown {
  if (isMap(value)) return resolveSecrets(value, path, at, ctx);
  const isSecret = key.endsWith('api_key') || SECRET_KEYS.has(key);
  // Optional secrets (e.g. `aws_session_token`) may be left empty.
  if (!isSecret || value === undefined || value === null) return value;
  return resolveApiKey(value, path, at, ctx);
}

/** MLflow's `_resolve_api_key_from_input`: `$VAR` → env var, else an existing file → its contents, else literal. */
function resolveApiKey(value: unknown, path: string, at: string, ctx: Context): unknown {
  if (typeof value !== 'string') {
    report(ctx, at, `${path}: ${MESSAGES.apiKeyNotString}`);
    return value;
  }
  if (value.startsWith('$')) {
    const name = value.slice(1);
    const resolved = ctx.env[name];
    // Like MLflow (`if env_var := os.getenv(...)`), an empty variable counts as unset.
    if (resolved) return resolved;
    report(ctx, at, MESSAGES.envNotSet(name, path));
    return value;
  }
  if (ctx.readKeyFiles === false) return value;
  return readKeyFile(value, path, at, ctx) ?? value;
}

function readKeyFile(candidate: string, path: string, at: string, ctx: Context): string | undefined {
  const file = resolve(ctx.baseDir, candidate);
  if (!isFile(file)) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    return report(ctx, at, `${path}: the api key file could not be read (${code}).`);
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    // Not a path at all (too long, NUL bytes, missing): MLflow then uses the value as the key itself.
    return false;
  }
}

/** `null` when absent, `undefined` when invalid (a problem was reported). */
function readLimit(value: unknown, at: string, ctx: Context): EndpointLimit | null | undefined {
  if (value === undefined || value === null) return null;
  if (!isMap(value)) return report(ctx, at, "'limit' must be a mapping with 'calls' and 'renewal_period'.");
  const calls = readCalls(value.calls, at, ctx);
  const renewalPeriod = readRenewalPeriod(value.renewal_period, at, ctx);
  const key = readLimitKey(value.key, at, ctx);
  if (calls === undefined || renewalPeriod === undefined || key === undefined) return undefined;
  return { calls, renewal_period: renewalPeriod, key };
}

function readCalls(value: unknown, at: string, ctx: Context): number | undefined {
  if (value === undefined || value === null) return report(ctx, at, "'limit.calls' is required.");
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const detail = `limit.calls must be a positive integer, got '${display(value)}'`;
  return report(ctx, at, MESSAGES.limitUnparsable(detail));
}

function readRenewalPeriod(value: unknown, at: string, ctx: Context): string | undefined {
  if (value === undefined || value === null) return report(ctx, at, "'limit.renewal_period' is required.");
  if (typeof value === 'string' && RENEWAL_PERIOD.test(value)) return value;
  const detail =
    `limit.renewal_period '${display(value)}' is not one of ` +
    'second(s), minute(s), hour(s), day(s), month(s), year(s)';
  return report(ctx, at, MESSAGES.limitUnparsable(detail));
}

/** `null` when absent; `limit.key` is accepted but unused by MLflow's server. */
function readLimitKey(value: unknown, at: string, ctx: Context): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  return report(ctx, at, "'limit.key' must be a string.");
}

function readExtensions(value: unknown, at: string, ctx: Context): RawMap {
  if (value === undefined || value === null) return {};
  if (isMap(value)) return { ...value };
  report(ctx, at, "'gatehouse' must be a mapping.");
  return {};
}

function readRoute(
  raw: unknown,
  index: number,
  endpointTypes: ReadonlyMap<string, unknown>,
  ctx: Context,
): TrafficRouteFileConfig | PredictRouteFileConfig | undefined {
  const key = `routes[${index}]`;
  const at = locate(key, raw);
  if (!isMap(raw)) return report(ctx, at, 'A route must be a mapping.');
  const name = readName(raw, key, at, ctx, false);
  // `ml/v1/predict` routes (splits over registry models) are a Gatehouse extension, like the endpoints.
  const taskType: EndpointType | typeof PREDICT_ENDPOINT_TYPE | undefined =
    raw.task_type === PREDICT_ENDPOINT_TYPE
      ? PREDICT_ENDPOINT_TYPE
      : readTaskType(raw.task_type, 'task_type', at, ctx);
  const strategyValid = checkRoutingStrategy(raw.routing_strategy, at, ctx);
  const route = { name: display(raw.name), taskType, endpointTypes, at };
  const destinations = readDestinations(raw.destinations, route, ctx);
  const extensions = readExtensions(raw.gatehouse, at, ctx);
  if (name === undefined || taskType === undefined || !strategyValid || destinations === undefined) {
    return undefined;
  }
  return {
    name,
    taskType,
    routingStrategy: 'TRAFFIC_SPLIT',
    destinations,
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
  };
}

function checkRoutingStrategy(value: unknown, at: string, ctx: Context): boolean {
  if (value === undefined || value === null || value === 'TRAFFIC_SPLIT') return true;
  report(ctx, at, `'routing_strategy' must be 'TRAFFIC_SPLIT' (the only strategy), got ${display(value)}.`);
  return false;
}

interface RouteUnderCheck {
  name: string;
  taskType: EndpointType | typeof PREDICT_ENDPOINT_TYPE | undefined;
  endpointTypes: ReadonlyMap<string, unknown>;
  at: string;
}

type Destination = TrafficRouteFileConfig['destinations'][number];

function readDestinations(value: unknown, route: RouteUnderCheck, ctx: Context): Destination[] | undefined {
  if (value === undefined || value === null) return report(ctx, route.at, "'destinations' is required.");
  if (!Array.isArray(value)) return report(ctx, route.at, "'destinations' must be a list.");
  const checked = value.map((item, index) => readDestination(item, index, route, ctx));
  const percentages = checked.map((destination) => destination?.trafficPercentage);
  // The sum is only meaningful once every percentage is a valid integer (reported one by one otherwise).
  if (percentages.every(isDefined) && percentages.reduce((total, p) => total + p, 0) !== 100) {
    return report(ctx, route.at, MESSAGES.percentageSum(route.name));
  }
  const destinations = checked.filter(isCompleteDestination);
  return destinations.length === checked.length ? destinations : undefined;
}

function readDestination(
  item: unknown,
  index: number,
  route: RouteUnderCheck,
  ctx: Context,
): Partial<Destination> | undefined {
  const at = `${route.at}: destinations[${index}]`;
  if (!isMap(item)) {
    return report(ctx, at, "A destination must be a mapping with 'name' and 'traffic_percentage'.");
  }
  const name = readDestinationName(item.name, route, at, ctx);
  const trafficPercentage = readTrafficPercentage(item.traffic_percentage, at, ctx);
  return { name, trafficPercentage };
}

function isCompleteDestination(destination: Partial<Destination> | undefined): destination is Destination {
  return destination?.name !== undefined && destination.trafficPercentage !== undefined;
}

function readDestinationName(
  value: unknown,
  route: RouteUnderCheck,
  at: string,
  ctx: Context,
): string | undefined {
  if (value === undefined || value === null) return report(ctx, at, "'name' is required.");
  if (typeof value !== 'string' || !route.endpointTypes.has(value)) {
    return report(ctx, at, MESSAGES.invalidDestination(route.name, display(value)));
  }
  const destinationType = route.endpointTypes.get(value);
  const known = isEndpointType(destinationType) || destinationType === PREDICT_ENDPOINT_TYPE;
  // An endpoint with a missing or invalid type has been reported on its own; compare only valid types.
  if (route.taskType === undefined || !known || destinationType === route.taskType) {
    return value;
  }
  if (destinationType === PREDICT_ENDPOINT_TYPE || route.taskType === PREDICT_ENDPOINT_TYPE) {
    return report(ctx, at, MESSAGES.mixedRoute(route.name, route.taskType, value, destinationType));
  }
  return report(ctx, at, MESSAGES.destinationTypeMismatch(route.name, route.taskType, destinationType));
}

function readTrafficPercentage(value: unknown, at: string, ctx: Context): number | undefined {
  if (value === undefined || value === null) return report(ctx, at, "'traffic_percentage' is required.");
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return report(ctx, at, `'traffic_percentage' must be an integer, got ${display(value)}.`);
  }
  if (value < 0 || value > 100) return report(ctx, at, MESSAGES.percentageRange);
  return value;
}

/** Records a problem; returns `undefined` so readers can `return report(...)`. */
function report(ctx: Context, at: string, message: string): undefined {
  ctx.problems.push(`${at}: ${message}`);
  return undefined;
}

function locate(key: string, raw: unknown): string {
  const name = isMap(raw) ? raw.name : undefined;
  return typeof name === 'string' && name !== '' ? `${key} (${name})` : key;
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

function isMap(value: unknown): value is RawMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEndpointType(value: unknown): value is EndpointType {
  return ENDPOINT_TYPES.includes(value as EndpointType);
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}
