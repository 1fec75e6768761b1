import { Injectable, OnModuleInit } from '@nestjs/common';
import { TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { MLFLOW_PROMPT_PREFIX, readPromptBinding } from 'src/config/extensions/prompt-binding.config';
import { ConfigEntryChange, ConfigEntryChecks } from 'src/modules/routing/admin/config-entry-checks';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { PromptException } from 'src/modules/prompts/prompt.exception';

/**
 * An endpoint made through the admin API may bind (`gatehouse.prompt`) a global template or one of its
 * own team's, never another team's: the template's text would run under the endpoint owner's name, and
 * its output would tell the caller what the other team wrote. A template the caller's team cannot read
 * is answered like a missing one, so the check does not reveal which names other teams use. Admins may
 * bind any template; MLflow registry prompts (`prompts:/…`) are global.
 */
@Injectable()
export class PromptBindingPolicy implements OnModuleInit {
  constructor(
    private readonly checks: ConfigEntryChecks,
    private readonly holder: PromptCatalogHolder,
  ) {}

  onModuleInit(): void {
    this.checks.register('prompts', (change) => this.check(change));
  }

  check({ principal, owner, before, after }: ConfigEntryChange): void {
    if (TenancyPolicy.isAdmin(principal)) return;
    const { binding } = readPromptBinding(after?.prompt);
    if (!binding) return;
    this.assertBindable(owner, binding.template, readPromptBinding(before?.prompt).binding?.template);
  }

  /**
   * For a non-admin change: `template` may be bound by an entry of team `owner`. `previous`: the
   * template the entry bound before the change (a missing one stays bindable if unchanged).
   */
  assertBindable(owner: string | null, template: string, previous: string | undefined): void {
    if (template.startsWith(MLFLOW_PROMPT_PREFIX)) return;
    const found = this.holder.current.templates.get(template);
    const foreign = found && (found.teamId ?? null) !== null && found.teamId !== owner;
    // A missing template is refused when it is newly bound (it could be created later by another team
    // under that name); an entry that already bound it keeps working until the owner fixes it.
    if (foreign || (!found && previous !== template)) {
      throw PromptException.invalid(
        `'gatehouse.prompt': there is no prompt template '${template}' your team may use.`,
        'gatehouse.prompt',
      );
    }
  }
}
