import { parseDocument } from 'yaml';

/** The two kinds of gateway.yaml entries the admin API manages: `endpoints[]` and `routes[]` items. */
export type ConfigKind = 'endpoint' | 'route';

export type RawEntry = Record<string, unknown>;

/** An API-managed entry as stored: the same JSON shape as one gateway.yaml list item. */
export interface ConfigEntry {
  kind: ConfigKind;
  name: string;
  body: RawEntry;
  revision: number;
  updatedBy: string | null;
  updatedAt: Date;
  /** The owning team; null or absent = global (admin-owned). */
  teamId?: string | null;
}

export interface FileEntries {
  endpoints: RawEntry[];
  routes: RawEntry[];
}

const LIST_KEY: Record<ConfigKind, 'endpoints' | 'routes'> = { endpoint: 'endpoints', route: 'routes' };

function isMap(value: unknown): value is RawEntry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The file's YAML as plain data (same options as the loader: merge keys, last duplicate key wins). */
function parseRoot(text: string): RawEntry | undefined {
  const doc = parseDocument(text, { merge: true, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  try {
    const root: unknown = doc.toJS();
    return isMap(root) ? root : undefined;
  } catch {
    return undefined;
  }
}

/** The entries gateway.yaml itself declares (file-managed, read-only through the API). */
export function fileEntriesOf(text: string): FileEntries {
  const root = parseRoot(text);
  const list = (key: string) =>
    root && Array.isArray(root[key]) ? (root[key] as unknown[]).filter(isMap) : [];
  return { endpoints: list('endpoints'), routes: list('routes') };
}

/**
 * The file config with the API-managed entries appended to its `endpoints` and `routes` lists, as a
 * document the unchanged loader reads (JSON is YAML): every YAML rule applies to API entries alike.
 * Without API entries (or if the file does not parse) the file text is returned untouched, so the
 * loader reports the file's own problems exactly as before.
 */
export function combineConfigText(fileText: string, entries: readonly ConfigEntry[]): string {
  if (entries.length === 0) return fileText;
  const root = parseRoot(fileText);
  if (!root) return fileText;
  const combined: RawEntry = { ...root };
  for (const kind of ['endpoint', 'route'] as const) {
    const key = LIST_KEY[kind];
    const own = entries.filter((e) => e.kind === kind).map((e) => e.body);
    if (own.length === 0) continue;
    const existing = root[key];
    // A malformed list in the file is left for the loader to report.
    if (existing !== undefined && existing !== null && !Array.isArray(existing)) continue;
    combined[key] = [...((existing as unknown[] | null | undefined) ?? []), ...own];
  }
  return JSON.stringify(combined);
}

/* Keys the loader resolves as api keys (`…api_key`, Databricks' `token`, AWS secrets, Vertex AI credentials), at any depth. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'aws_secret_access_key',
  'aws_session_token',
  'aws_bearer_token',
  'vertex_credentials',
]);
const isSecretKey = (key: string) => key.endsWith('api_key') || SECRET_KEYS.has(key);
const isReference = (value: unknown) => typeof value === 'string' && value.startsWith('$');

function walkSecrets(
  value: unknown,
  path: string,
  visit: (path: string, value: unknown) => unknown,
): unknown {
  if (Array.isArray(value)) return value.map((item, i) => walkSecrets(item, `${path}[${i}]`, visit));
  if (!isMap(value)) return value;
  const out: RawEntry = {};
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    out[key] = isSecretKey(key) ? visit(at, item) : walkSecrets(item, at, visit);
  }
  return out;
}

/**
 * API-managed entries are stored in the database, echoed in revisions and in the audit log, so they
 * may hold secrets only as references to a provider secret stored encrypted through /admin/v1/secrets
 * (`$secret:NAME`). A literal key (or key file path) is refused; `$ENV_VAR` is refused by the guard.
 */
export function literalSecretProblems(body: RawEntry): string[] {
  const problems: string[] = [];
  walkSecrets(body, '', (at, value) => {
    if (value !== undefined && value !== null && !isReference(value)) {
      problems.push(
        `${at}: through the admin API a secret must be a reference to a stored secret ('$secret:NAME'), not a literal value.`,
      );
    }
    return value;
  });
  return problems;
}

/** A file entry as shown by the API: literal secrets (allowed in the file) are masked. */
export function maskSecrets(body: RawEntry): RawEntry {
  return walkSecrets(body, '', (_at, value) =>
    value === undefined || value === null || isReference(value) ? value : '***',
  ) as RawEntry;
}

/** The endpoints a traffic route sends to, with their percentages. */
export function destinationsOf(body: RawEntry): { name: string; percentage: number }[] {
  const list = Array.isArray(body.destinations) ? (body.destinations as unknown[]) : [];
  return list.filter(isMap).map((d) => ({
    name: typeof d.name === 'string' ? d.name : '',
    percentage: typeof d.traffic_percentage === 'number' ? d.traffic_percentage : 0,
  }));
}
