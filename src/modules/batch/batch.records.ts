/** Rows of the files and batches tables, as the repository returns them. */

export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings', '/v1/completions'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export interface FileRecord {
  id: string;
  teamId: string | null;
  principalId: string | null;
  purpose: string;
  filename: string;
  bytes: number;
  lines: number;
  status: string;
  createdAt: Date;
}

export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface BatchRecord {
  id: string;
  seq: number;
  teamId: string | null;
  principalId: string | null;
  apiKeyId: string | null;
  endpoint: BatchEndpoint;
  inputFileId: string;
  completionWindow: string;
  status: BatchStatus;
  metadata: Record<string, string> | null;
  errors: BatchError[] | null;
  outputFileId: string | null;
  errorFileId: string | null;
  total: number;
  completed: number;
  failed: number;
  createdAt: Date;
  expiresAt: Date;
  inProgressAt: Date | null;
  finalizingAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  expiredAt: Date | null;
  cancellingAt: Date | null;
  cancelledAt: Date | null;
}

/** One claimed line: `attempt` is the claim's token (a later claim of the same line has a higher one). */
export interface ClaimedLine {
  batchId: string;
  line: number;
  customId: string;
  body: Record<string, unknown>;
  attempt: number;
  endpoint: BatchEndpoint;
  principalId: string | null;
  apiKeyId: string | null;
  teamId: string | null;
}

/** A line of an uploaded batch input file, checked. */
export interface InputLine {
  customId: string;
  method: string;
  url: string;
  body: Record<string, unknown>;
}
