import { AdminActor } from 'src/common/auth/admin-actor';
import { AuditService } from 'src/modules/audit/audit.service';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import {
  RegistryModelListDto,
  RegistryVersionListDto,
  SyncStatusDto,
} from 'src/modules/registry/dto/registry.dto';
import { RegistryErrorCode, RegistryException } from 'src/modules/registry/registry.exception';
import { RegistryService } from 'src/modules/registry/registry.service';
import { RegistryModel, SyncStatus } from 'src/modules/registry/registry.types';
import {
  DELIVERY_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhook,
} from 'src/modules/registry/webhook-signature';
import { WebhookDeliveries } from 'src/modules/registry/webhook-deliveries';

export interface WebhookAck {
  accepted: true;
  event: string;
  sync: SyncStatus;
}

/** The admin and webhook façade over the registry snapshot and sync. */
@Injectable()
export class RegistryAdminService {
  private readonly logger = new Logger('RegistryWebhook');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: RegistryService,
    private readonly holder: RouteTableHolder,
    private readonly deliveries: WebhookDeliveries,
    private readonly audit: AuditService,
  ) {}

  listModels(): RegistryModelListDto {
    const models = this.registry.current()?.models ?? [];
    return {
      models: models.map((model) => ({
        name: model.name,
        description: model.description,
        tags: model.tags,
        aliases: model.aliases,
        latestVersion: model.versions.at(-1)?.version ?? null,
        versionCount: model.versions.length,
        endpoints: this.endpointsOf(model.name).map((e) => e.name),
      })),
      syncedAt: this.registry.current()?.syncedAt ?? null,
      state: this.registry.health().state,
    };
  }

  listVersions(name: string): RegistryVersionListDto {
    const model: RegistryModel | undefined = this.registry.model(name);
    if (!model) {
      throw new RegistryException(
        404,
        RegistryErrorCode.ModelNotFound,
        `Registered model '${name.slice(0, 256)}' is not in the registry snapshot.`,
      );
    }
    const endpoints = this.endpointsOf(name);
    return {
      name: model.name,
      aliases: model.aliases,
      versions: model.versions.map((version) => ({
        version: version.version,
        status: version.status,
        stage: version.stage,
        aliases: version.aliases,
        tags: version.tags,
        source: version.source,
        runId: version.runId,
        endpoints: endpoints.filter((e) => e.target?.version === version.version).map((e) => e.name),
      })),
    };
  }

  /** An admin-triggered sync: audited once it succeeded (the snapshot it stored is the change). */
  async sync(actor: AdminActor): Promise<SyncStatusDto> {
    const status = await this.registry.sync('admin');
    if (status.status === 'disabled') {
      throw new GatewayException(
        409,
        GatewayErrorCode.InvalidRequest,
        'Registry sync is disabled: MLFLOW_TRACKING_URI is not set.',
      );
    }
    if (status.status === 'failed') {
      throw new GatewayException(
        502,
        GatewayErrorCode.UpstreamError,
        `Registry sync failed: ${status.reason ?? 'unknown error'}. The last snapshot keeps serving.`,
      );
    }
    return this.audit.write(actor, async () => ({
      result: status,
      event: {
        action: 'registry.sync',
        targetType: 'registry',
        targetId: null,
        teamId: null,
        after: { status: status.status, models: status.models, versions: status.versions, hash: status.hash },
      },
    }));
  }

  /** Verifies an MLflow webhook delivery (HMAC) and syncs at once. */
  async webhook(
    headers: Record<string, string | string[] | undefined>,
    rawBody: string | undefined,
    body: unknown,
  ): Promise<WebhookAck> {
    const secret = this.config.MLFLOW_WEBHOOK_SECRET;
    if (!secret) {
      throw new RegistryException(
        401,
        RegistryErrorCode.WebhookSignature,
        'Webhook deliveries are refused: no webhook secret is configured on the gateway.',
      );
    }
    const check = verifyWebhook(
      secret,
      {
        signature: first(headers[SIGNATURE_HEADER]),
        timestamp: first(headers[TIMESTAMP_HEADER]),
        deliveryId: first(headers[DELIVERY_ID_HEADER]),
      },
      rawBody ?? '',
    );
    if (!check.ok) throw new RegistryException(401, RegistryErrorCode.WebhookSignature, check.reason);
    // Verified deliveries only (an unsigned flood cannot fill the memory), then: each one once.
    const fresh = await this.deliveries.firstSeen(
      first(headers[DELIVERY_ID_HEADER]) ?? '',
      first(headers[TIMESTAMP_HEADER]) ?? '',
    );
    if (!fresh) {
      throw new RegistryException(
        409,
        RegistryErrorCode.WebhookReplay,
        'This webhook delivery was already received; a replay is refused.',
      );
    }
    const envelope = (body ?? {}) as { entity?: unknown; action?: unknown };
    const event = `${text(envelope.entity)}.${text(envelope.action)}`.slice(0, 100);
    this.logger.log(`webhook ${event} (delivery ${first(headers[DELIVERY_ID_HEADER])}): syncing`);
    return { accepted: true, event, sync: await this.registry.sync('webhook') };
  }

  private endpointsOf(model: string) {
    return this.holder.current.models.filter((e) => e.registeredModel === model);
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : 'unknown';
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
