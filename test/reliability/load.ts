import { sleep } from 'test/reliability/services';

/**
 * Open-loop load at a fixed rate: request i starts at t0 + i/rate whatever the earlier ones are doing
 * (a closed loop would slow down with the server and hide queueing). `onTick` runs before each start,
 * so a scenario can inject its fault at a given request number.
 */
export async function atRate<T>(
  rate: number,
  count: number,
  fire: (i: number) => Promise<T>,
  onTick?: (i: number) => void | Promise<void>,
): Promise<T[]> {
  const started = Date.now();
  const pending: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    if (onTick) await onTick(i);
    pending.push(fire(i));
  }
  return Promise.all(pending);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
