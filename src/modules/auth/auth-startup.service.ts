import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { BootstrapAdminService } from 'src/modules/auth/bootstrap-admin.service';

/** Before the first request: migrations applied, bootstrap admin ensured, snapshot loaded and listening. */
@Injectable()
export class AuthStartupService implements OnModuleInit {
  constructor(
    // Injected only to order start-up after the migrations.
    @Inject('MIGRATIONS_APPLIED') _migrations: string[],
    private readonly bootstrap: BootstrapAdminService,
    private readonly snapshot: AuthSnapshotService,
  ) {}

  async onModuleInit(): Promise<void> {
    const minted = await this.bootstrap.ensure();
    if (minted) {
      // Printed once, to stdout only (not the log stream); only its SHA-256 is stored.
      process.stdout.write(
        [
          '',
          '================================================================================',
          ' Gatehouse: no admin key was configured, so one was generated. It is shown ONCE:',
          '',
          `   ${minted}`,
          '',
          ' Use it as "Authorization: Bearer <key>". Mint named keys with POST /admin/v1/keys',
          ' and revoke this one, or set GATEHOUSE_ADMIN_API_KEY.',
          '================================================================================',
          '',
        ].join('\n'),
      );
    }
    await this.snapshot.start();
  }
}
