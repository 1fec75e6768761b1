import { InitialSchema1764090000000 } from 'migrations/1764090000000-initial-schema';
import { RegistrySnapshots1764100000000 } from 'migrations/1764100000000-registry-snapshots';
import { IdentityAndAccess1764200000000 } from 'migrations/1764200000000-identity-and-access';
import { CachePolicyOverrides1764300000000 } from 'migrations/1764300000000-cache-policy-overrides';
import { ModerationTeamPolicies1764400000000 } from 'migrations/1764400000000-moderation-team-policies';
import { PromptTemplates1764500000000 } from 'migrations/1764500000000-prompt-templates';
import { Conversations1764500000001 } from 'migrations/1764500000001-conversations';
import { ConfigLifecycle1764650000000 } from 'migrations/1764650000000-config-lifecycle';
import { UsageLedger1764750000000 } from 'migrations/1764750000000-usage-ledger';
import { LimitsBudgetsPrices1764700000000 } from 'migrations/1764700000000-limits-budgets-prices';
import { LedgerAttribution1765100000000 } from 'migrations/1765100000000-ledger-attribution';
import { ZeroLimits1765100000001 } from 'migrations/1765100000001-zero-limits';
import { AdminTenancy1765200010000 } from 'migrations/1765200010000-admin-tenancy';
import { SecretOwnership1765200020000 } from 'migrations/1765200020000-secret-ownership';
import { StoredResponses1765300100000 } from 'migrations/1765300100000-stored-responses';
import { FilesAndBatches1765300500000 } from 'migrations/1765300500000-files-and-batches';
import { KnowledgeBases1765300600000 } from 'migrations/1765300600000-knowledge-bases';
import { ApiProducts1765300700000 } from 'migrations/1765300700000-api-products';
import { UsageRollupHourly1765400000000 } from 'migrations/1765400000000-usage-rollup-hourly';

/** Every migration, in order. Listed explicitly so the same classes run under ts (tests) and compiled js. */
export const MIGRATIONS = [
  InitialSchema1764090000000,
  RegistrySnapshots1764100000000,
  IdentityAndAccess1764200000000,
  CachePolicyOverrides1764300000000,
  ModerationTeamPolicies1764400000000,
  PromptTemplates1764500000000,
  Conversations1764500000001,
  ConfigLifecycle1764650000000,
  UsageLedger1764750000000,
  LimitsBudgetsPrices1764700000000,
  LedgerAttribution1765100000000,
  ZeroLimits1765100000001,
  AdminTenancy1765200010000,
  SecretOwnership1765200020000,
  StoredResponses1765300100000,
  FilesAndBatches1765300500000,
  KnowledgeBases1765300600000,
  ApiProducts1765300700000,
  UsageRollupHourly1765400000000,
];
