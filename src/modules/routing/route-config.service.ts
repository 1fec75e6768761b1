import { createHash } from 'node:crypto';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { GatewayConfigError } from 'src/config/gateway-config.types';
import { GatewayConfigSource } from 'src/config/gateway-config.source';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';
import { ConfigRevisionRepository } from 'src/modules/routing/config-revision.repository';
import { buildRouteTable } from 'src/modules/routing/route-table';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { SecretsService } from 'src/modules/secrets/secrets.service';

export interface ReloadResult {
  applied: boolean;
  revision: string;
  problems: string[];
}

/**
 * Turns gateway.yaml into the live RouteTable: at boot (an invalid file aborts start-up with every
 * problem listed) and on every edit (an invalid edit keeps the running table and logs why).
 */
@Injectable()
export class RouteConfigService implements OnApplicationBootstrap {
  private readonly logger = new Logger('GatewayConfig');
  private lastRevision = '';

  constructor(
    private readonly source: GatewayConfigSource,
    private readonly registry: ProviderRegistry,
    private readonly holder: RouteTableHolder,
    private readonly revisions: ConfigRevisionRepository,
    private readonly secrets: SecretsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    let text: string;
    try {
      text = (await this.source.read()).text;
    } catch {
      throw new GatewayConfigError([`Cannot read the gateway config file at ${this.source.path}.`]);
    }
    const result = await this.apply(text, 'boot');
    if (!result.applied) throw new GatewayConfigError(result.problems);
    this.source.watch(async () => {
      await this.reloadFromDisk();
    });
  }

  async reloadFromDisk(): Promise<ReloadResult> {
    let text: string;
    try {
      text = (await this.source.read()).text;
    } catch {
      const problems = [
        `Cannot read the gateway config file at ${this.source.path}; keeping the running config.`,
      ];
      this.logger.warn(problems[0]);
      return { applied: false, revision: this.lastRevision, problems };
    }
    return this.apply(text, 'file-watch');
  }

  private async apply(text: string, sourceLabel: string): Promise<ReloadResult> {
    const revision = createHash('sha256').update(text).digest('hex');
    if (revision === this.lastRevision) return { applied: true, revision, problems: [] };
    try {
      const fileConfig = parseGatewayConfig(text, {
        // `$secret:NAME` resolves to a provider secret stored (encrypted) through the admin API.
        env: { ...process.env, ...this.secrets.asEnv() },
        knownProviders: this.registry.knownProviders(),
        baseDir: this.source.path.replace(/[\\/][^\\/]*$/, ''),
      });
      const table = buildRouteTable(fileConfig, this.registry, revision);
      this.holder.swap(table);
      this.lastRevision = revision;
      this.logger.log(
        `applied config ${revision.slice(0, 12)} (${table.endpoints.length} endpoints, ${table.routes.length} routes)`,
      );
      await this.record({
        sha256: revision,
        source: sourceLabel,
        status: 'applied',
        endpointNames: table.endpoints.map((e) => e.name),
        routeNames: table.routes.map((r) => r.name),
        problems: [],
      });
      return { applied: true, revision, problems: [] };
    } catch (error) {
      if (!(error instanceof GatewayConfigError)) throw error;
      this.logger.warn(
        `rejected config ${revision.slice(0, 12)}${this.lastRevision ? ', keeping the running config' : ''}:\n  ${error.problems.join('\n  ')}`,
      );
      await this.record({
        sha256: revision,
        source: sourceLabel,
        status: 'rejected',
        endpointNames: [],
        routeNames: [],
        problems: error.problems,
      });
      return { applied: false, revision: this.lastRevision, problems: error.problems };
    }
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
