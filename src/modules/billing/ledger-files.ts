import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files the usage ledger keeps under DATA_DIR (spill files and journal segments) are named
 * `<pid>-<boot>-<seq>.ndjson`: the pid says whether their writer still runs on this host, the boot time
 * keeps a restarted process that got the same pid (pid 1 in a container) apart from its predecessor.
 */
const FILE = /^(\d+)-(\d+)-(\d+)\.ndjson$/;

export function ledgerFileName(boot: number, seq: number): string {
  return `${process.pid}-${boot}-${seq}.ndjson`;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface OrphanFile {
  path: string;
  bytes: number;
}

/**
 * Ledger files in `dir` left by processes that no longer run (files of this pid are from an earlier
 * process that had it: this one has not written yet when it looks). Empty ones are deleted on the way.
 */
export function orphanFiles(dir: string): OrphanFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: OrphanFile[] = [];
  for (const name of names) {
    const match = FILE.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && processAlive(pid)) continue;
    const path = join(dir, name);
    let bytes: number;
    try {
      bytes = statSync(path).size;
    } catch {
      continue; // raced with another process replaying it
    }
    if (bytes === 0) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
      continue;
    }
    found.push({ path, bytes });
  }
  return found;
}
