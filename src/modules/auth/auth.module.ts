import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { AccessAdminController } from 'src/modules/auth/access-admin.controller';
import { AccessService } from 'src/modules/auth/access.service';
import { ApiKeysController } from 'src/modules/auth/api-keys.controller';
import { ApiKeysService } from 'src/modules/auth/api-keys.service';
import { GrantsService } from 'src/modules/auth/grants.service';
import { IdentityAdminController } from 'src/modules/auth/identity-admin.controller';
import { IdentityAdminService } from 'src/modules/auth/identity-admin.service';
import { SubscriptionsService } from 'src/modules/auth/subscriptions.service';
import { AuthInvalidationService } from 'src/modules/auth/auth-invalidation.service';
import { AuthRepository } from 'src/modules/auth/auth.repository';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { AuthStartupService } from 'src/modules/auth/auth-startup.service';
import { AuthenticationGuard } from 'src/modules/auth/authentication.guard';
import { AuthenticationService } from 'src/modules/auth/authentication.service';
import { BootstrapAdminService } from 'src/modules/auth/bootstrap-admin.service';
import { EarlyAuthenticationHook } from 'src/modules/auth/early-authentication.hook';
import { JwtVerifierService } from 'src/modules/auth/jwt-verifier.service';
import { ApiKeyStrategy } from 'src/modules/auth/strategies/api-key.strategy';
import { JwtStrategy } from 'src/modules/auth/strategies/jwt.strategy';
import { OidcHttpClient } from 'src/modules/auth/oidc-http.client';
import { PermissionGuard } from 'src/modules/auth/permission.guard';

@Module({
  imports: [AuditModule],
  controllers: [IdentityAdminController, ApiKeysController, AccessAdminController],
  providers: [
    IdentityAdminService,
    ApiKeysService,
    GrantsService,
    SubscriptionsService,
    AuthRepository,
    AuthInvalidationService,
    AuthSnapshotService,
    BootstrapAdminService,
    AuthStartupService,
    OidcHttpClient,
    JwtVerifierService,
    AuthenticationService,
    ApiKeyStrategy,
    JwtStrategy,
    AccessService,
    AuthenticationGuard,
    PermissionGuard,
    EarlyAuthenticationHook,
  ],
  exports: [
    AuthenticationGuard,
    EarlyAuthenticationHook,
    PermissionGuard,
    AccessService,
    AuthInvalidationService,
    AuthenticationService,
    AuthSnapshotService,
    // The API products module files subscriptions for a product and lapses their grants on retirement.
    SubscriptionsService,
    GrantsService,
  ],
})
export class AuthModule {}
