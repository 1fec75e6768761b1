import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { hashApiKey, displayPrefix, mintApiKey } from 'src/modules/auth/api-key.codec';
import { AuthRepository } from 'src/modules/auth/auth.repository';

export const BOOTSTRAP_ISSUER = 'gatehouse';
export const BOOTSTRAP_SUBJECT = 'bootstrap-admin';
export const ADMIN_TEAM = 'platform-admins';

/**
 * Makes sure someone can administer a fresh gateway. With GATEHOUSE_ADMIN_API_KEY the bootstrap admin
 * holds that key (stored hashed); without it, the first boot mints one admin key and prints it once.
 * Replicas booting together serialise on an advisory lock.
 */
@Injectable()
export class BootstrapAdminService {
  private readonly logger = new Logger('BootstrapAdmin');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: AuthRepository,
  ) {}

  /** Returns the minted key when one was generated (so the caller may print it). */
  async ensure(): Promise<string | undefined> {
    return this.repository.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('gatehouse.bootstrap-admin'))`);
      const team =
        (await this.repository.insertTeam(ADMIN_TEAM, 'Gateway administrators', m)) ??
        (await this.repository.findTeamByName(ADMIN_TEAM, m));
      let admin = await this.repository.findPrincipalBySubject(BOOTSTRAP_ISSUER, BOOTSTRAP_SUBJECT, m);
      if (!admin) {
        admin = await this.repository.insertPrincipal(
          {
            kind: 'service',
            name: BOOTSTRAP_SUBJECT,
            teamId: team?.id ?? null,
            roles: ['admin'],
            issuer: BOOTSTRAP_ISSUER,
            subject: BOOTSTRAP_SUBJECT,
          },
          m,
        );
      }
      if (!admin) throw new Error('could not create the bootstrap admin');
      const configured = this.config.GATEHOUSE_ADMIN_API_KEY;
      if (configured) {
        const existing = await this.repository.findKeyByHash(hashApiKey(configured), m);
        if (existing?.revokedAt) {
          this.logger.warn('GATEHOUSE_ADMIN_API_KEY was revoked through the admin API; it stays revoked.');
        } else if (!existing) {
          await this.repository.insertKey(
            {
              principalId: admin.id,
              name: 'bootstrap (GATEHOUSE_ADMIN_API_KEY)',
              prefix: displayPrefix(configured),
              sha256: hashApiKey(configured),
              permissions: null,
              endpoints: null,
              expiresAt: null,
            },
            m,
          );
        }
        return undefined;
      }
      const keys = await this.repository.listKeys({ principalId: admin.id }, m);
      if (keys.length > 0) return undefined;
      const minted = mintApiKey();
      await this.repository.insertKey(
        {
          principalId: admin.id,
          name: 'bootstrap (generated at first boot)',
          prefix: minted.prefix,
          sha256: minted.sha256,
          permissions: null,
          endpoints: null,
          expiresAt: null,
        },
        m,
      );
      return minted.plaintext;
    });
  }
}
