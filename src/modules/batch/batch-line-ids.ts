import { createHash } from 'node:crypto';

/** A stable id per batch line: its output line's `id`, its request id, and (as a UUID) its ledger row's id. */
export function lineIds(batchId: string, line: number): { requestId: string; invocationId: string } {
  const hex = createHash('sha256').update(`${batchId}:${line}`).digest('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { requestId: `batch_req_${hex.slice(0, 32)}`, invocationId: uuid };
}
