import { Injectable } from '@nestjs/common';
import { Principal } from 'src/common/auth/principal';
import { UpstreamHttpClient } from 'src/infra/http/upstream-http.client';
import { AuthErrors } from 'src/modules/auth/auth.exception';
import { RawEntry } from 'src/modules/routing/admin/config-entries';
import { credentialSignature, referencesOf } from 'src/modules/routing/admin/entry-references';
import { RoutingAdminException } from 'src/modules/routing/admin/routing-admin.exception';
import { SecretsService } from 'src/modules/secrets/secrets.service';

/**
 * What an admin-API entry may hold, beyond what the YAML loader checks: secrets only as `$secret:NAME`
 * the caller's team may use (never the process environment), upstream URLs only to allowed hosts, and
 * a change of an entry's credentials or upstream host only with `secrets.write` on its secrets.
 */
@Injectable()
export class ConfigEntryGuard {
  constructor(
    private readonly secrets: SecretsService,
    private readonly http: UpstreamHttpClient,
  ) {}

  async check(
    principal: Principal | undefined,
    before: RawEntry | null,
    next: RawEntry | null,
  ): Promise<void> {
    if (next === null || !principal) return;
    const refs = referencesOf(next);
    if (refs.environment.length > 0) {
      throw RoutingAdminException.invalid(
        `${refs.environment.join(', ')}: configuration made through the admin API cannot read environment ` +
          "variables; store the value with PUT /admin/v1/secrets/NAME and reference it as '$secret:NAME'.",
      );
    }
    for (const [path, name] of refs.secrets) {
      const use = this.secrets.usableBy(principal, name);
      if (use === 'missing') {
        throw RoutingAdminException.invalid(`${path}: there is no stored secret '${name}'.`);
      }
      if (use === 'denied') {
        throw AuthErrors.forbidden(
          `${path}: your team may not use the secret '${name}' (ask its owner to add your team to its allowed teams).`,
        );
      }
    }
    const problems = (await Promise.all(refs.urls.map((url) => this.http.egress.checkUrl(url)))).filter(
      (p): p is string => p !== undefined,
    );
    if (problems.length > 0) {
      throw RoutingAdminException.invalid(`Upstream not allowed: ${problems.join('; ')}.`);
    }
    if (before === null) return;
    const old = referencesOf(before);
    if (old.destination === refs.destination && credentialSignature(old) === credentialSignature(refs))
      return;
    for (const name of new Set([...old.secrets.values(), ...refs.secrets.values()])) {
      if (!this.secrets.writableBy(principal, name)) {
        throw AuthErrors.forbidden(
          `Changing an entry's credentials or upstream host needs secrets.write on the secret '${name}' it uses.`,
        );
      }
    }
  }
}
