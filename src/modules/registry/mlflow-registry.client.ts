import { Inject, Injectable } from '@nestjs/common';
import { request } from 'undici';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { RegistryModel, RegistryVersion } from 'src/modules/registry/registry.types';
import { RegistryFetchError } from 'src/modules/registry/registry.exception';

interface KeyValue {
  key?: string;
  value?: string;
}

interface RawModel {
  name?: string;
  description?: string;
  tags?: KeyValue[];
  aliases?: { alias?: string; version?: string }[];
  last_updated_timestamp?: number | string;
}

interface RawVersion {
  name?: string;
  version?: string;
  status?: string;
  current_stage?: string;
  tags?: KeyValue[];
  aliases?: string[];
  source?: string;
  run_id?: string;
  creation_timestamp?: number | string;
}

const PAGE_SIZE = 1000;
/** A runaway page token loop stops here (1M models / versions). */
const MAX_PAGES = 1000;

/**
 * Reads the MLflow Model Registry over its REST API (`/api/2.0/mlflow/...`), following page tokens.
 * Credentials come from MLFLOW_TRACKING_TOKEN (Bearer) or MLFLOW_TRACKING_USERNAME/PASSWORD (Basic),
 * as MLflow's own client sends them.
 */
@Injectable()
export class MlflowRegistryClient {
  private readonly base: string | undefined;
  private readonly headers: Record<string, string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly http: UpstreamHttpClient,
  ) {
    this.base = config.MLFLOW_TRACKING_URI?.replace(/\/+$/, '');
    this.headers = { accept: 'application/json' };
    if (config.MLFLOW_TRACKING_TOKEN) {
      this.headers.authorization = `Bearer ${config.MLFLOW_TRACKING_TOKEN}`;
    } else if (config.MLFLOW_TRACKING_USERNAME && config.MLFLOW_TRACKING_PASSWORD) {
      const basic = Buffer.from(
        `${config.MLFLOW_TRACKING_USERNAME}:${config.MLFLOW_TRACKING_PASSWORD}`,
      ).toString('base64');
      this.headers.authorization = `Basic ${basic}`;
    }
  }

  get configured(): boolean {
    return this.base !== undefined;
  }

  /** Every registered model with all its versions, aliases and tags. */
  async fetchAll(): Promise<RegistryModel[]> {
    const rawModels = await this.paged<RawModel>('registered-models/search', 'registered_models');
    const rawVersions = await this.paged<RawVersion>('model-versions/search', 'model_versions');
    const versionsByModel = new Map<string, RegistryVersion[]>();
    for (const raw of rawVersions) {
      if (!raw.name || raw.version === undefined) continue;
      const list = versionsByModel.get(raw.name) ?? [];
      list.push(toVersion(raw));
      versionsByModel.set(raw.name, list);
    }
    return rawModels
      .filter((raw): raw is RawModel & { name: string } => typeof raw.name === 'string')
      .map((raw) => {
        const versions = (versionsByModel.get(raw.name) ?? []).sort(
          (a, b) => Number(a.version) - Number(b.version),
        );
        const aliases: Record<string, string> = {};
        for (const entry of raw.aliases ?? []) {
          if (entry.alias && entry.version !== undefined) aliases[entry.alias] = String(entry.version);
        }
        // model-versions/search leaves version aliases empty: derive them from the model's.
        for (const version of versions) {
          version.aliases = Object.keys(aliases)
            .filter((alias) => aliases[alias] === version.version)
            .sort();
        }
        return {
          name: raw.name,
          description: raw.description ?? null,
          tags: toTags(raw.tags),
          aliases,
          versions,
          updatedAt: toNumber(raw.last_updated_timestamp),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One GET of MLflow's REST API (`path` after `/api/2.0/mlflow/`), with the client's auth and timeouts. */
  fetchJson(path: string): Promise<unknown> {
    return this.get(path);
  }

  private async paged<T>(path: string, key: string): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = new URLSearchParams({ max_results: String(PAGE_SIZE) });
      if (pageToken) query.set('page_token', pageToken);
      const body = (await this.get(`${path}?${query.toString()}`)) as Record<string, unknown>;
      const list = body[key];
      if (Array.isArray(list)) items.push(...(list as T[]));
      const next = body.next_page_token;
      if (typeof next !== 'string' || next === '') return items;
      pageToken = next;
    }
    throw new RegistryFetchError(`${path}: more than ${MAX_PAGES} pages`);
  }

  private async get(path: string): Promise<unknown> {
    if (!this.base) throw new RegistryFetchError('MLFLOW_TRACKING_URI is not set');
    const timeout = this.config.REGISTRY_REQUEST_TIMEOUT_MS;
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.base}/api/2.0/mlflow/${path}`, {
        // MLFLOW_TRACKING_URI is operator configuration: the trusted pool.
        dispatcher: this.http.dispatcher(false),
        method: 'GET',
        headers: this.headers,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new RegistryFetchError(
        `cannot reach the MLflow tracking server (${typeof code === 'string' ? code : 'network error'})`,
      );
    }
    const text = await response.body.text().catch(() => '');
    if (response.statusCode !== 200) {
      throw new RegistryFetchError(
        `the MLflow tracking server answered HTTP ${response.statusCode} for ${path.split('?')[0]}`,
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RegistryFetchError(
        `the MLflow tracking server sent a non-JSON answer for ${path.split('?')[0]}`,
      );
    }
  }
}

function toVersion(raw: RawVersion): RegistryVersion {
  return {
    version: String(raw.version),
    status: raw.status ?? 'READY',
    stage: raw.current_stage ?? 'None',
    aliases: Array.isArray(raw.aliases) ? raw.aliases.map(String).sort() : [],
    tags: toTags(raw.tags),
    source: raw.source ?? null,
    runId: raw.run_id ?? null,
    createdAt: toNumber(raw.creation_timestamp),
  };
}

function toTags(tags: KeyValue[] | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.key) result[tag.key] = tag.value ?? '';
  return Object.fromEntries(Object.entries(result).sort(([a], [b]) => a.localeCompare(b)));
}

function toNumber(value: number | string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
