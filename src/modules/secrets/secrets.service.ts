import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { AuditService } from 'src/modules/audit/audit.service';
import { AuthInvalidationService } from 'src/modules/auth/auth-invalidation.service';
import { SecretCipher, SecretCipherError } from 'src/modules/secrets/secret.cipher';
import { SecretRow, SecretsRepository } from 'src/modules/secrets/secrets.repository';

/** How gateway.yaml refers to a stored secret: `openai_api_key: $secret:NAME`. */
export const SECRET_REFERENCE_PREFIX = 'secret:';

export interface SecretInfo {
  name: string;
  keyVersion: number;
  createdAt: string;
  updatedAt: string;
}

const info = (row: SecretRow): SecretInfo => ({
  name: row.name,
  keyVersion: row.keyVersion,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/**
 * Provider API keys given through the admin API: sealed with AES-256-GCM under GATEHOUSE_MASTER_KEY,
 * decrypted into memory at boot for gateway.yaml's `$secret:NAME` references. Values are write-only:
 * no response, log line or error carries one.
 */
@Injectable()
export class SecretsService implements OnModuleInit {
  private readonly logger = new Logger('ProviderSecrets');
  private readonly cipher: SecretCipher | undefined;
  private values = new Map<string, string>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    // Injected only to order start-up after the migrations.
    @Inject('MIGRATIONS_APPLIED') _migrations: string[],
    private readonly repository: SecretsRepository,
    private readonly audit: AuditService,
    private readonly invalidation: AuthInvalidationService,
  ) {
    this.cipher = config.GATEHOUSE_MASTER_KEY
      ? SecretCipher.fromConfig(
          config.GATEHOUSE_MASTER_KEY,
          config.GATEHOUSE_MASTER_KEY_VERSION,
          config.GATEHOUSE_MASTER_KEYS_PREVIOUS,
        )
      : undefined;
  }

  async onModuleInit(): Promise<void> {
    await this.load();
    // Other replicas' changes (same channel as identity changes).
    await this.invalidation.subscribe(() => {
      this.load().catch((error: unknown) =>
        this.logger.error(`reload failed: ${error instanceof Error ? error.message : 'unknown error'}`),
      );
    });
  }

  private async load(): Promise<void> {
    const rows = await this.repository.all();
    if (rows.length > 0 && !this.cipher) {
      this.logger.warn(
        `${rows.length} stored provider secrets cannot be read: GATEHOUSE_MASTER_KEY is not set`,
      );
      return;
    }
    const values = new Map<string, string>();
    for (const row of rows) {
      try {
        values.set(row.name, this.cipher!.open(row.name, row));
      } catch (error) {
        this.logger.error(
          error instanceof SecretCipherError ? error.message : `secret '${row.name}' unreadable`,
        );
      }
    }
    this.values = values;
  }

  /** `{ 'secret:NAME': value }`, merged into the environment gateway.yaml's `$…` references resolve from. */
  asEnv(): Record<string, string> {
    return Object.fromEntries(
      [...this.values].map(([name, value]) => [`${SECRET_REFERENCE_PREFIX}${name}`, value]),
    );
  }

  async list(): Promise<SecretInfo[]> {
    return (await this.repository.all()).map(info);
  }

  async put(
    request: FastifyRequest,
    name: string,
    value: string,
  ): Promise<SecretInfo & { created: boolean }> {
    const cipher = this.requireCipher();
    const sealed = cipher.seal(name, value);
    const created = await this.repository.transaction(async (m) => {
      const result = await this.repository.upsert(name, sealed, m);
      await this.audit.change(
        request,
        {
          action: result.created ? 'secret.create' : 'secret.update',
          targetType: 'provider_secret',
          targetId: name,
          after: { name, keyVersion: sealed.keyVersion },
        },
        m,
      );
      return result.created;
    });
    this.values.set(name, value);
    await this.invalidation.publish();
    const row = (await this.repository.all()).find((r) => r.name === name)!;
    return { ...info(row), created };
  }

  async remove(request: FastifyRequest, name: string): Promise<void> {
    await this.repository.transaction(async (m) => {
      if (!(await this.repository.remove(name, m))) {
        throw new GatewayException(404, GatewayErrorCode.ObjectNotFound, 'Secret not found.');
      }
      await this.audit.change(
        request,
        { action: 'secret.delete', targetType: 'provider_secret', targetId: name },
        m,
      );
    });
    this.values.delete(name);
    await this.invalidation.publish();
  }

  /** Re-seals every secret under the current master key version (after adding a new master key). */
  async reencrypt(request: FastifyRequest): Promise<{ reencrypted: number; keyVersion: number }> {
    const cipher = this.requireCipher();
    const count = await this.repository.transaction(async (m) => {
      let n = 0;
      for (const row of await this.repository.all(m)) {
        if (row.keyVersion === cipher.currentVersion) continue;
        const value = cipher.open(row.name, row);
        await this.repository.upsert(row.name, cipher.seal(row.name, value), m);
        n += 1;
      }
      await this.audit.change(
        request,
        {
          action: 'secret.reencrypt',
          targetType: 'provider_secret',
          targetId: null,
          after: { reencrypted: n, keyVersion: cipher.currentVersion },
        },
        m,
      );
      return n;
    });
    return { reencrypted: count, keyVersion: cipher.currentVersion };
  }

  private requireCipher(): SecretCipher {
    if (this.cipher) return this.cipher;
    throw new GatewayException(
      503,
      GatewayErrorCode.SecretsUnavailable,
      'Provider secrets are disabled: set GATEHOUSE_MASTER_KEY (32 bytes, base64).',
    );
  }
}
