import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { AuditService } from 'src/modules/audit/audit.service';
import { Principal } from 'src/common/auth/principal';
import { actorOf } from 'src/modules/auth/actor';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { AuthInvalidationService } from 'src/modules/auth/auth-invalidation.service';
import { setKnownSecretValues } from 'src/modules/observability/logging/secret-redaction';
import { SecretCipher, SecretCipherError } from 'src/modules/secrets/secret.cipher';
import { SecretAccess, SecretRow, SecretsRepository } from 'src/modules/secrets/secrets.repository';

/** How gateway.yaml refers to a stored secret: `openai_api_key: $secret:NAME`. */
export const SECRET_REFERENCE_PREFIX = 'secret:';

/**
 * Environment variables no configuration may resolve, gateway.yaml included: the gateway's own
 * credentials. Their values are also refused under any other variable name.
 */
export const UNRESOLVABLE_ENV_KEYS = [
  'GATEHOUSE_ADMIN_API_KEY',
  'GATEHOUSE_MASTER_KEY',
  'GATEHOUSE_MASTER_KEYS_PREVIOUS',
  'DATABASE_URL',
  'REDIS_URL',
  'METRICS_TOKEN',
  'MLFLOW_WEBHOOK_SECRET',
] as const;

export interface SecretInfo {
  name: string;
  keyVersion: number;
  ownerTeamId: string | null;
  allowedTeamIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** Who may reference a secret from admin-API configuration (and whether it exists). */
export type SecretUse = 'ok' | 'missing' | 'denied';

const info = (row: SecretRow): SecretInfo => ({
  name: row.name,
  keyVersion: row.keyVersion,
  ownerTeamId: row.ownerTeamId,
  allowedTeamIds: row.allowedTeamIds,
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
  private access = new Map<string, SecretAccess>();
  private readonly protectedValues: string[];

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
    this.protectedValues = [
      config.GATEHOUSE_ADMIN_API_KEY,
      config.GATEHOUSE_MASTER_KEY,
      ...(config.GATEHOUSE_MASTER_KEYS_PREVIOUS ?? '').split(',').map((pair) => pair.split(':')[1]),
      config.DATABASE_URL,
    ].filter((v): v is string => typeof v === 'string' && v.length > 0);
  }

  async onModuleInit(): Promise<void> {
    // Other replicas' changes (same channel as identity changes).
    await this.invalidation.follow(
      () => this.load(),
      (error) =>
        this.logger.error(`reload failed: ${error instanceof Error ? error.message : 'unknown error'}`),
    );
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
    this.access = new Map(rows.map((row) => [row.name, access(row)]));
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
    this.publishKnown();
  }

  /** Every value this service holds is redacted wherever it shows up (logs, spans, upstream errors). */
  private publishKnown(): void {
    setKnownSecretValues('stored-secrets', this.knownValues());
  }

  /** `{ 'secret:NAME': value }`: all admin-API configuration may resolve (the team check is at write time). */
  asEnv(): Record<string, string> {
    return this.withoutProtected(
      Object.fromEntries(
        [...this.values].map(([name, value]) => [`${SECRET_REFERENCE_PREFIX}${name}`, value]),
      ),
    );
  }

  /**
   * What gateway.yaml (written by the host's operator) resolves `$…` against: the process environment
   * and the stored secrets, minus the gateway's own credentials.
   */
  fileEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
    const own = { ...env };
    for (const key of UNRESOLVABLE_ENV_KEYS) delete own[key];
    return this.withoutProtected({ ...own, ...this.asEnv() });
  }

  /** Every secret value the gateway holds (stored secrets and its own credentials), for redaction. */
  knownValues(): string[] {
    return [...this.values.values(), ...this.protectedValues];
  }

  /** Whether `principal` may reference the secret: admins any; others their team's or those listing their team. */
  usableBy(principal: Principal, name: string): SecretUse {
    const rule = this.access.get(name);
    if (!rule || !this.values.has(name)) return 'missing';
    if (principal.permissions.has('tenancy.all')) return 'ok';
    const team = principal.teamId;
    if (team !== null && (rule.ownerTeamId === team || rule.allowedTeamIds.includes(team))) return 'ok';
    return 'denied';
  }

  /** `secrets.write` on this secret: the permission, and the secret is the caller's team's (or `tenancy.all`). */
  writableBy(principal: Principal, name: string): boolean {
    if (!principal.permissions.has('secrets.write')) return false;
    if (principal.permissions.has('tenancy.all')) return true;
    const rule = this.access.get(name);
    return rule !== undefined && rule.ownerTeamId !== null && rule.ownerTeamId === principal.teamId;
  }

  async list(request: FastifyRequest): Promise<SecretInfo[]> {
    const actor = actorOf(request);
    const rows = await this.repository.all();
    return rows.filter((row) => visible(actor, row)).map(info);
  }

  async put(
    request: FastifyRequest,
    name: string,
    input: { value: string; ownerTeamId?: string | null; allowedTeamIds?: string[] },
  ): Promise<SecretInfo & { created: boolean }> {
    const actor = actorOf(request);
    const cipher = this.requireCipher();
    const { value } = input;
    const sealed = cipher.seal(name, value);
    const { created, rule } = await this.repository.transaction(async (m) => {
      const existing = await this.repository.find(name, m);
      if (existing && !manages(actor, existing)) {
        throw visible(actor, existing)
          ? AuthErrors.forbidden(`Secret '${name}' belongs to another team.`)
          : AuthErrors.conflict(`The secret name '${name}' is taken; choose another.`);
      }
      const admin = actor.permissions.has('tenancy.all');
      if (!admin && input.ownerTeamId !== undefined && input.ownerTeamId !== actor.teamId) {
        throw AuthErrors.forbidden('Only an admin may give a secret to another team or make it global.');
      }
      const rule: SecretAccess = {
        ownerTeamId:
          input.ownerTeamId !== undefined
            ? input.ownerTeamId
            : existing
              ? existing.ownerTeamId
              : admin
                ? null
                : actor.teamId,
        allowedTeamIds: [...new Set(input.allowedTeamIds ?? existing?.allowedTeamIds ?? [])],
      };
      const unknown = await this.repository.unknownTeams(
        [...(rule.ownerTeamId ? [rule.ownerTeamId] : []), ...rule.allowedTeamIds],
        m,
      );
      if (unknown.length > 0) throw AuthErrors.invalid(`Unknown team id(s): ${unknown.join(', ')}.`);
      const result = await this.repository.upsert(name, sealed, rule, m);
      await this.audit.change(
        request,
        {
          action: result.created ? 'secret.create' : 'secret.update',
          targetType: 'provider_secret',
          targetId: name,
          before: existing ? { name, ...access(existing) } : null,
          after: { name, keyVersion: sealed.keyVersion, ...rule },
          teamId: rule.ownerTeamId,
        },
        m,
      );
      return { created: result.created, rule };
    });
    this.values.set(name, value);
    this.access.set(name, rule);
    this.publishKnown();
    await this.invalidation.publish();
    const row = (await this.repository.all()).find((r) => r.name === name)!;
    return { ...info(row), created };
  }

  async remove(request: FastifyRequest, name: string): Promise<void> {
    const actor = actorOf(request);
    await this.repository.transaction(async (m) => {
      const existing = await this.repository.find(name, m);
      if (!existing || !visible(actor, existing)) {
        throw new GatewayException(404, GatewayErrorCode.ObjectNotFound, 'Secret not found.');
      }
      if (!manages(actor, existing)) throw AuthErrors.forbidden(`Secret '${name}' belongs to another team.`);
      await this.repository.remove(name, m);
      await this.audit.change(
        request,
        { action: 'secret.delete', targetType: 'provider_secret', targetId: name },
        m,
      );
    });
    this.values.delete(name);
    this.access.delete(name);
    this.publishKnown();
    await this.invalidation.publish();
  }

  /** Re-seals every secret under the current master key version (after adding a new master key). */
  async reencrypt(request: FastifyRequest): Promise<{ reencrypted: number; keyVersion: number }> {
    if (!actorOf(request).permissions.has('tenancy.all')) {
      throw AuthErrors.forbidden('Re-encrypting every secret needs tenancy.all.');
    }
    const cipher = this.requireCipher();
    const count = await this.repository.transaction(async (m) => {
      let n = 0;
      for (const row of await this.repository.all(m)) {
        if (row.keyVersion === cipher.currentVersion) continue;
        const value = cipher.open(row.name, row);
        await this.repository.upsert(row.name, cipher.seal(row.name, value), access(row), m);
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

  /** Drops variables whose value is one of the gateway's own credentials, whatever their name. */
  private withoutProtected<T extends string | undefined>(env: Record<string, T>): Record<string, T> {
    if (this.protectedValues.length === 0) return env;
    return Object.fromEntries(
      Object.entries(env).filter(([, value]) => value === undefined || !this.protectedValues.includes(value)),
    );
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

function access(row: SecretRow): SecretAccess {
  return { ownerTeamId: row.ownerTeamId, allowedTeamIds: row.allowedTeamIds };
}

/** Admins see every secret; others their team's and those shared with their team (names only). */
function visible(actor: Principal, row: SecretRow): boolean {
  if (actor.permissions.has('tenancy.all')) return true;
  const team = actor.teamId;
  return team !== null && (row.ownerTeamId === team || row.allowedTeamIds.includes(team));
}

/** Changing or deleting a secret: admins, or the owning team (global secrets are admin-owned). */
function manages(actor: Principal, row: SecretRow): boolean {
  if (actor.permissions.has('tenancy.all')) return true;
  return row.ownerTeamId !== null && row.ownerTeamId === actor.teamId;
}
