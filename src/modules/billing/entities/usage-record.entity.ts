import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One ledger row (table `usage_records`); written and read with SQL by the billing repositories. */
@Entity('usage_records')
export class UsageRecordEntity {
  /** Gateway-generated invocation id (unique per request). */
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  /** The x-request-id the caller saw (a caller's own id can repeat). */
  @Column({ name: 'request_id', type: 'text' })
  requestId!: string;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz' })
  finishedAt!: Date;

  @Column({ type: 'text' })
  surface!: string;

  @Column({ type: 'text', nullable: true })
  operation!: string | null;

  @Column({ type: 'boolean' })
  stream!: boolean;

  @Column({ name: 'principal_id', type: 'text', nullable: true })
  principalId!: string | null;

  @Column({ name: 'team_id', type: 'text', nullable: true })
  teamId!: string | null;

  @Column({ name: 'api_key_id', type: 'text', nullable: true })
  apiKeyId!: string | null;

  @Column({ type: 'text', nullable: true })
  requested!: string | null;

  @Column({ type: 'text', nullable: true })
  route!: string | null;

  @Column({ type: 'text', nullable: true })
  endpoint!: string | null;

  @Column({ type: 'text', nullable: true })
  target!: string | null;

  @Column({ type: 'text', nullable: true })
  provider!: string | null;

  @Column({ type: 'text', nullable: true })
  model!: string | null;

  @Column({ name: 'model_version', type: 'text', nullable: true })
  modelVersion!: string | null;

  @Column({ name: 'prompt_tokens', type: 'integer', nullable: true })
  promptTokens!: number | null;

  @Column({ name: 'completion_tokens', type: 'integer', nullable: true })
  completionTokens!: number | null;

  @Column({ name: 'tokens_estimated', type: 'boolean' })
  tokensEstimated!: boolean;

  @Column({ name: 'cost_usd', type: 'numeric', precision: 20, scale: 10, nullable: true })
  costUsd!: string | null;

  @Column({ name: 'latency_ms', type: 'double precision' })
  latencyMs!: number;

  @Column({ name: 'ttft_ms', type: 'double precision', nullable: true })
  ttftMs!: number | null;

  @Column({ type: 'integer' })
  status!: number;

  @Column({ type: 'text' })
  outcome!: string;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ name: 'cache_hit', type: 'boolean' })
  cacheHit!: boolean;

  @Column({ name: 'prompt_version', type: 'text', nullable: true })
  promptVersion!: string | null;

  @Column({ name: 'moderation_input', type: 'text', nullable: true })
  moderationInput!: string | null;

  @Column({ name: 'moderation_output', type: 'text', nullable: true })
  moderationOutput!: string | null;

  @Column({ name: 'parent_id', type: 'uuid', nullable: true })
  parentId!: string | null;

  @Column({ type: 'text', nullable: true })
  purpose!: string | null;

  @Column({ name: 'batch_id', type: 'text', nullable: true })
  batchId!: string | null;

  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}
