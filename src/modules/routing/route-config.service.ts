import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { GatewayConfigSource } from 'src/config/gateway-config.source';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import {
  combineConfigText,
  ConfigEntry,
  FileEntries,
  fileEntriesOf,
} from 'src/modules/routing/admin/config-entries';
import { ConfigEntryRepository } from 'src/modules/routing/admin/config-entry.repository';
import { RoutingChangeNotifier } from 'src/modules/routing/admin/routing-change.notifier';
import { ConfigRevisionRepository } from 'src/modules/routing/config-revision.repository';
import { buildRouteTable, RouteTable } from 'src/modules/routing/route-table';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { SecretsService } from 'src/modules/secrets/secrets.service';
import { setKnownSecretValues } from 'src/modules/observability/logging/secret-redaction';
import { GatewayFileConfig } from 'src/config/gateway-config.types';

export interface ReloadResult {
  applied: boolean;
  revision: string;
  problems: string[];
}

export type Composition = { table: RouteTable; problems: [] } | { table: undefined; problems: string[] };

/**
 * Turns gateway.yaml plus the API-managed entries (database) into the live RouteTable: at boot (an
 * invalid config aborts start-up with every problem listed), on every file edit (an invalid edit keeps
 * the running table and logs why), and on every committed admin change of any replica (NOTIFY, with a
 * periodic reconcile against the latest revision id in case a notification was missed). Every rebuild
 * goes through the unchanged loader and buildRouteTable, and is serialised on this replica.
 */
@Injectable()
export class RouteConfigService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('GatewayConfig');
  private fileHash = '';
  private fileText = 'endpoints: []\n';
  private fileEntries: FileEntries = { endpoints: [], routes: [] };
  private entries: readonly ConfigEntry[] = [];
  /** Owning team by entry name, rebuilt with `entries` (read per request on prompt-bound and RAG endpoints). */
  private owners = new Map<string, string | null>();
  private changeId = '0';
  private queue: Promise<unknown> = Promise.resolve();
  private reconcileTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: GatewayConfigSource,
    private readonly registry: ProviderRegistry,
    private readonly holder: RouteTableHolder,
    private readonly revisions: ConfigRevisionRepository,
    private readonly secrets: SecretsService,
    private readonly entryRepository: ConfigEntryRepository,
    private readonly notifier: RoutingChangeNotifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    let text: string;
    try {
      text = (await this.source.read()).text;
    } catch {
      throw new GatewayConfigError([`Cannot read the gateway config file at ${this.source.path}.`]);
    }
    this.changeId = await this.entryRepository.latestChangeId();
    this.setEntries(await this.entryRepository.list());
    const result = await this.applyFile(text, 'boot');
    if (!result.applied) throw new GatewayConfigError(result.problems);
    this.source.watch(async () => {
      await this.reloadFromDisk();
    });
    await this.notifier.subscribe(() => void this.refresh());
    this.reconcileTimer = setInterval(() => void this.refresh(), this.config.ROUTING_RECONCILE_INTERVAL_MS);
    this.reconcileTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
  }

  /** The entries gateway.yaml declares (file-managed) as last applied. */
  get file(): FileEntries {
    return this.fileEntries;
  }

  /**
   * The owning team of an endpoint or route from the entries last applied (no database read):
   * API entries carry theirs; gateway.yaml and registry entries are global (null).
   */
  ownerOf(name: string): string | null {
    return this.owners.get(name) ?? null;
  }

  private setEntries(entries: readonly ConfigEntry[]): void {
    this.entries = entries;
    this.owners = new Map(entries.map((e) => [e.name, e.teamId ?? null]));
  }

  /** Builds (without applying) the table of the running file plus the given API entries. */
  compose(entries: readonly ConfigEntry[]): Composition {
    return this.build(this.fileText, entries);
  }

  reloadFromDisk(): Promise<ReloadResult> {
    return this.serialised(async () => {
      let text: string;
      try {
        text = (await this.source.read()).text;
      } catch {
        const problems = [
          `Cannot read the gateway config file at ${this.source.path}; keeping the running config.`,
        ];
        this.logger.warn(problems[0]);
        return { applied: false, revision: this.fileHash, problems };
      }
      return this.applyFile(text, 'file-watch');
    });
  }

  /**
   * Brings this replica up to the database's latest revision (no-op when current unless forced).
   * Called after a local commit, on NOTIFY from other replicas, and by the periodic reconcile.
   */
  refresh(force = false): Promise<void> {
    return this.serialised(async () => {
      try {
        const latest = await this.entryRepository.latestChangeId();
        if (!force && latest === this.changeId) return;
        const entries = await this.entryRepository.list();
        const result = this.build(this.fileText, entries);
        if (!result.table) {
          this.logger.warn(
            `admin config revision ${latest} does not validate on this replica, keeping the running config:\n  ${result.problems.join('\n  ')}`,
          );
          return;
        }
        this.holder.swap(result.table);
        this.setEntries(entries);
        this.changeId = latest;
        this.logger.log(`applied admin config revision ${latest} (${this.summary(result.table)})`);
      } catch (error) {
        this.logger.warn(
          `could not refresh the admin config: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private build(fileText: string, entries: readonly ConfigEntry[]): Composition {
    const text = combineConfigText(fileText, entries);
    const revision = createHash('sha256').update(text).digest('hex');
    try {
      const apiNames = new Set(entries.map((e) => e.name));
      const fileConfig = parseGatewayConfig(text, {
        // The host operator's file reads the environment and the stored secrets (`$secret:NAME`), never
        // the gateway's own credentials; entries made through the admin API read stored secrets only.
        env: this.secrets.fileEnv(process.env),
        apiEntries: { names: apiNames, env: this.secrets.asEnv() },
        knownProviders: this.registry.knownProviders(),
        baseDir: this.source.path.replace(/[\\/][^\\/]*$/, ''),
      });
      const table = buildRouteTable(fileConfig, this.registry, revision, apiNames);
      // Provider keys the config resolved (environment, key files): redacted wherever echoed.
      setKnownSecretValues('gateway-config', resolvedSecrets(fileConfig));
      return { table, problems: [] };
    } catch (error) {
      if (!(error instanceof GatewayConfigError)) throw error;
      return { table: undefined, problems: error.problems };
    }
  }

  private summary(table: RouteTable): string {
    return `${table.endpoints.length} endpoints, ${table.routes.length} routes`;
  }

  private async applyFile(text: string, sourceLabel: string): Promise<ReloadResult> {
    const revision = createHash('sha256').update(text).digest('hex');
    if (revision === this.fileHash) return { applied: true, revision, problems: [] };
    const result = this.build(text, this.entries);
    if (result.table) {
      const table = result.table;
      this.holder.swap(table);
      this.fileHash = revision;
      this.fileText = text;
      this.fileEntries = fileEntriesOf(text);
      this.logger.log(`applied config ${revision.slice(0, 12)} (${this.summary(table)})`);
      await this.record({
        sha256: revision,
        source: sourceLabel,
        status: 'applied',
        endpointNames: table.endpoints.map((e) => e.name),
        routeNames: table.routes.map((r) => r.name),
        problems: [],
      });
      return { applied: true, revision, problems: [] };
    }
    this.logger.warn(
      `rejected config ${revision.slice(0, 12)}${this.fileHash ? ', keeping the running config' : ''}:\n  ${result.problems.join('\n  ')}`,
    );
    await this.record({
      sha256: revision,
      source: sourceLabel,
      status: 'rejected',
      endpointNames: [],
      routeNames: [],
      problems: result.problems,
    });
    return { applied: false, revision: this.fileHash, problems: result.problems };
  }

  private async record(revision: Parameters<ConfigRevisionRepository['record']>[0]): Promise<void> {
    try {
      await this.revisions.record(revision);
    } catch (error) {
      // The audit row must not decide whether a valid config applies.
      this.logger.warn(
        `could not record config revision: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'aws_secret_access_key',
  'aws_session_token',
  'aws_bearer_token',
]);

/** The secret values (api keys, tokens) in the endpoints' resolved model configs and instance configs. */
function resolvedSecrets(config: GatewayFileConfig): string[] {
  const out: string[] = [];
  const walk = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (key.endsWith('api_key') || SECRET_KEYS.has(key)) out.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, key);
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  for (const endpoint of config.endpoints) {
    walk(endpoint.model.config, '');
    walk(endpoint.extensions.instances, '');
  }
  return out;
}
