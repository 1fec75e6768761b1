import { randomUUID } from 'node:crypto';
import { InvocationRecord } from 'src/common/observability/invocation';

/**
 * One ledger row as written (snake_case, JSON-safe): the shape of the in-memory buffer, of the spill
 * files and of the `jsonb_to_recordset` batch insert.
 */
export interface UsageRow {
  id: string;
  request_id: string;
  started_at: string;
  finished_at: string;
  surface: string;
  operation: string | null;
  stream: boolean;
  principal_id: string | null;
  team_id: string | null;
  api_key_id: string | null;
  requested: string | null;
  route: string | null;
  endpoint: string | null;
  target: string | null;
  provider: string | null;
  model: string | null;
  model_version: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  tokens_estimated: boolean;
  cost_usd: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  status: number;
  outcome: string;
  error_code: string | null;
  attempts: number;
  cache_hit: boolean;
  prompt_version: string | null;
  moderation_input: string | null;
  moderation_output: string | null;
  /** A call made on a caller's behalf: the caller's row (its invocation id), and why it was made. */
  parent_id: string | null;
  purpose: string | null;
  /** A line of an OpenAI batch: the batch's id. */
  batch_id: string | null;
}

/** Column name → SQL type, in insert order (used to build the batch INSERT). */
export const USAGE_COLUMNS: readonly (readonly [keyof UsageRow, string])[] = [
  ['id', 'uuid'],
  ['request_id', 'text'],
  ['started_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
  ['surface', 'text'],
  ['operation', 'text'],
  ['stream', 'boolean'],
  ['principal_id', 'text'],
  ['team_id', 'text'],
  ['api_key_id', 'text'],
  ['requested', 'text'],
  ['route', 'text'],
  ['endpoint', 'text'],
  ['target', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['model_version', 'text'],
  ['prompt_tokens', 'integer'],
  ['completion_tokens', 'integer'],
  ['tokens_estimated', 'boolean'],
  ['cost_usd', 'numeric'],
  ['latency_ms', 'double precision'],
  ['ttft_ms', 'double precision'],
  ['status', 'integer'],
  ['outcome', 'text'],
  ['error_code', 'text'],
  ['attempts', 'integer'],
  ['cache_hit', 'boolean'],
  ['prompt_version', 'text'],
  ['moderation_input', 'text'],
  ['moderation_output', 'text'],
  ['parent_id', 'uuid'],
  ['purpose', 'text'],
  ['batch_id', 'text'],
];

const MAX_TEXT = 1024;
const INT_MAX = 2_147_483_647;
const OUTCOMES = new Set(['success', 'error', 'cache_hit', 'cancelled']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// PostgreSQL text refuses NUL; every value is bounded so one odd value can never fail a whole batch.
function text(value: string | number | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const s = String(value);
  const clean = s.includes('\0') ? s.replaceAll('\0', '') : s;
  return clean.length > MAX_TEXT ? clean.slice(0, MAX_TEXT) : clean;
}

function count(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
    ? Math.min(Math.round(value), INT_MAX)
    : null;
}

function duration(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function time(ms: number | undefined, fallback: number): string {
  const value = typeof ms === 'number' && Number.isFinite(ms) ? ms : fallback;
  return new Date(value).toISOString();
}

/** Copies the facts the ledger keeps out of a finished invocation (cheap: no I/O, no parsing). */
export function toUsageRow(record: InvocationRecord): UsageRow {
  const now = Date.now();
  const id = record.invocationId && UUID.test(record.invocationId) ? record.invocationId : randomUUID();
  record.invocationId = id;
  const outcome = record.outcome && OUTCOMES.has(record.outcome) ? record.outcome : 'error';
  return {
    id,
    request_id: text(record.requestId) ?? id,
    started_at: time(record.startedAt, now),
    finished_at: time(record.finishedAt, now),
    surface: text(record.surface) ?? 'unknown',
    operation: text(record.operation),
    stream: record.stream === true,
    principal_id: text(record.principalId),
    team_id: text(record.team),
    api_key_id: text(record.apiKeyId),
    requested: text(record.requested),
    route: text(record.route),
    endpoint: text(record.endpoint),
    target: text(record.target),
    provider: text(record.provider),
    model: text(record.model),
    model_version: text(record.modelVersion),
    prompt_tokens: count(record.promptTokens),
    completion_tokens: count(record.completionTokens),
    tokens_estimated: record.tokensEstimated === true,
    cost_usd:
      typeof record.costUsd === 'number' && Number.isFinite(record.costUsd) && record.costUsd >= 0
        ? record.costUsd
        : null,
    latency_ms: duration(record.latencyMs) ?? 0,
    ttft_ms: duration(record.ttftMs),
    status: count(record.status) ?? 0,
    outcome,
    error_code: text(record.errorCode),
    attempts: count(record.attempts) ?? 0,
    cache_hit: record.cacheHit === true,
    prompt_version: text(record.promptVersion),
    moderation_input: text(record.moderationInput),
    moderation_output: text(record.moderationOutput),
    parent_id: record.parentId && UUID.test(record.parentId) ? record.parentId : null,
    purpose: text(record.purpose),
    batch_id: text(record.batchId),
  };
}
