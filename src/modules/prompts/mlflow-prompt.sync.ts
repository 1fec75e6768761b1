import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { MlflowRegistryClient } from 'src/modules/registry/mlflow-registry.client';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { MLFLOW_PROMPT_PREFIX, PromptTemplate } from 'src/modules/prompts/prompt.types';
import { fromMlflowPrompt, MlflowPromptModel, MlflowPromptVersion } from 'src/modules/prompts/mlflow-prompt';

export interface PromptSyncStatus {
  lastSuccessAt: Date | null;
  lastError: string | null;
  /** Per referenced prompt: why it could not be used (missing, unparseable). */
  problems: Record<string, string>;
}

/**
 * Keeps the MLflow Prompt Registry prompts that endpoints reference (`gatehouse.prompt:
 * prompts:/<name>@<alias>`) in the in-memory catalog: at boot and every REGISTRY_SYNC_INTERVAL_MS, like
 * registry models. Only referenced prompts are fetched (two GETs each). A failed sync keeps the last good
 * snapshot; a prompt that disappears from MLflow stops being served.
 */
@Injectable()
export class MlflowPromptSync implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MlflowPrompts');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly status: PromptSyncStatus = { lastSuccessAt: null, lastError: null, problems: {} };

  constructor(
    private readonly client: MlflowRegistryClient,
    private readonly routes: RouteTableHolder,
    private readonly catalog: PromptCatalogHolder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.client.configured) return;
    await this.sync();
    this.timer = setInterval(() => void this.sync(), this.config.REGISTRY_SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Names of the MLflow prompts the live route table refers to. */
  referenced(): string[] {
    const names = new Set<string>();
    for (const endpoint of this.routes.current.endpoints) {
      const template = endpoint.prompt?.template;
      if (template?.startsWith(MLFLOW_PROMPT_PREFIX)) names.add(template.slice(MLFLOW_PROMPT_PREFIX.length));
    }
    return [...names].sort();
  }

  sync(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const templates = new Map<string, PromptTemplate>();
    const problems: Record<string, string> = {};
    try {
      for (const name of this.referenced()) {
        const model = await this.fetchModel(name);
        if (!model) {
          problems[name] = `prompt '${name}' does not exist in the MLflow Prompt Registry`;
          continue;
        }
        const versions = await this.fetchVersions(name);
        const converted = fromMlflowPrompt(model, versions);
        if (converted.problems.length > 0) problems[name] = converted.problems.join('; ');
        if (converted.template) templates.set(converted.template.name, converted.template);
      }
    } catch (error) {
      // Keep serving the last good snapshot; the next tick tries again.
      this.status.lastError = error instanceof Error ? error.message : String(error);
      this.logger.warn(`MLflow prompt sync failed: ${this.status.lastError}`);
      return;
    }
    this.catalog.setExternal(templates);
    this.status.lastSuccessAt = new Date();
    this.status.lastError = null;
    this.status.problems = problems;
    for (const [name, problem] of Object.entries(problems)) this.logger.warn(`prompts:/${name}: ${problem}`);
  }

  private async fetchModel(name: string): Promise<MlflowPromptModel | undefined> {
    try {
      const body = (await this.client.fetchJson(
        `registered-models/get?name=${encodeURIComponent(name)}`,
      )) as { registered_model?: MlflowPromptModel };
      return body.registered_model;
    } catch (error) {
      if (error instanceof Error && /HTTP 404/.test(error.message)) return undefined;
      throw error;
    }
  }

  private async fetchVersions(name: string): Promise<MlflowPromptVersion[]> {
    // Searches leave prompts out unless the filter asks for them (MLflow's prompt tag).
    const filter = `name = '${name.replace(/'/g, "\\'")}' AND tag.\`mlflow.prompt.is_prompt\` = 'true'`;
    const body = (await this.client.fetchJson(
      `model-versions/search?filter=${encodeURIComponent(filter)}&max_results=1000`,
    )) as { model_versions?: MlflowPromptVersion[] };
    return body.model_versions ?? [];
  }
}
