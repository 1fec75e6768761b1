/** One registered model version as Gatehouse keeps it (a subset of MLflow's ModelVersion). */
export interface RegistryVersion {
  version: string;
  /** PENDING_REGISTRATION | FAILED_REGISTRATION | READY: only READY versions are routable. */
  status: string;
  /** Legacy stage: None, Staging, Production, Archived. */
  stage: string;
  aliases: string[];
  tags: Record<string, string>;
  source: string | null;
  runId: string | null;
  createdAt: number | null;
}

export interface RegistryModel {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  /** alias → version */
  aliases: Record<string, string>;
  /** Ascending by version number. */
  versions: RegistryVersion[];
  updatedAt: number | null;
}

/** The whole registry as last synced; stored in Postgres and held in memory. */
export interface RegistrySnapshot {
  models: RegistryModel[];
  /** sha256 of the models, to skip no-op updates. */
  hash: string;
  syncedAt: string;
}

export type SyncTrigger = 'boot' | 'interval' | 'admin' | 'webhook';

export interface SyncStatus {
  status: 'synced' | 'unchanged' | 'skipped' | 'failed' | 'disabled';
  trigger: SyncTrigger;
  models: number;
  versions: number;
  hash: string | null;
  syncedAt: string | null;
  /** Why the sync failed or was skipped (no secrets, no upstream bodies). */
  reason?: string;
  durationMs: number;
}
