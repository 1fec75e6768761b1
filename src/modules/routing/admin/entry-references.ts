import { RawEntry } from 'src/modules/routing/admin/config-entries';

/** How configuration refers to a stored secret: `$secret:NAME`. */
const SECRET_REFERENCE = /^\$secret:([A-Za-z0-9_.-]{1,128})$/;
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'aws_secret_access_key',
  'aws_session_token',
  'aws_bearer_token',
]);
const isSecretKey = (key: string) => key.endsWith('api_key') || SECRET_KEYS.has(key);
/** Keys whose value names where requests go (a URL, or a host/region the adapter builds one from). */
const URL_KEY = /(?:_base|_url|url|_endpoint|^endpoint|host)$/i;
const PLACE_KEY = /(?:region|location)$/i;

function isMap(value: unknown): value is RawEntry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What an endpoint entry sends credentials with, and where to. */
export interface EntryReferences {
  /** `$secret:NAME` references: path → secret name. */
  secrets: Map<string, string>;
  /** Other `$…` references (environment variables): their paths. */
  environment: string[];
  /** Upstream URLs named in the entry (provider base URLs, instance URLs, serving URL templates). */
  urls: string[];
  /** Provider, URLs and regions: a change here sends the credentials somewhere else. */
  destination: string;
}

/** The model configs of an entry: `model.config` and each `gatehouse.instances[].config`. */
function configsOf(body: RawEntry): { path: string; config: RawEntry }[] {
  const out: { path: string; config: RawEntry }[] = [];
  const model = body.model;
  if (isMap(model) && isMap(model.config)) out.push({ path: 'model.config', config: model.config });
  const ext = body.gatehouse;
  if (isMap(ext) && Array.isArray(ext.instances)) {
    ext.instances.forEach((item: unknown, i) => {
      if (isMap(item) && isMap(item.config)) {
        out.push({ path: `gatehouse.instances[${i}].config`, config: item.config });
      }
    });
  }
  return out;
}

export function referencesOf(body: RawEntry): EntryReferences {
  const secrets = new Map<string, string>();
  const environment: string[] = [];
  const urls: string[] = [];
  const places: string[] = [];
  const walk = (value: unknown, path: string, key: string): void => {
    if (isMap(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, k);
      return;
    }
    if (typeof value !== 'string') return;
    if (isSecretKey(key) || value.startsWith('$')) {
      if (!value.startsWith('$')) return;
      const secret = SECRET_REFERENCE.exec(value);
      if (secret) secrets.set(path, secret[1]);
      else environment.push(path);
      return;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) urls.push(value);
    else if (URL_KEY.test(key) && value.trim() !== '') urls.push(`https://${value.trim()}`);
    else if (PLACE_KEY.test(key)) places.push(`${path}=${value}`);
  };
  for (const { path, config } of configsOf(body)) walk(config, path, '');
  const ext = body.gatehouse;
  if (isMap(ext) && typeof ext.serving_url_template === 'string') {
    urls.push(ext.serving_url_template.replace(/\{(?:name|version)\}/g, 'x'));
  }
  const provider = isMap(body.model) ? JSON.stringify(body.model.provider ?? null) : '';
  const destination = JSON.stringify([provider, [...urls].sort(), places.sort()]);
  return { secrets, environment, urls, destination };
}

/** The credential references of an entry in a comparable form. */
export function credentialSignature(refs: EntryReferences): string {
  return JSON.stringify([...refs.secrets].sort(([a], [b]) => a.localeCompare(b)));
}
