/** Fixed windows in UTC. A counter lives for one window; its key carries the window's start. */
export const RATE_WINDOWS = ['second', 'minute', 'hour', 'day'] as const;
export type RateWindow = (typeof RATE_WINDOWS)[number];
export const BUDGET_PERIODS = ['daily', 'weekly', 'monthly'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export const WINDOW_MS: Record<RateWindow, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

export interface WindowSpan {
  start: number;
  end: number;
}

/** A window of `size` ms aligned to the epoch (a minute window starts at :00 UTC). */
export function rateWindow(size: number, now: number): WindowSpan {
  const start = Math.floor(now / size) * size;
  return { start, end: start + size };
}

/** Budget periods: UTC day; ISO week starting Monday 00:00 UTC; calendar month in UTC. */
export function budgetWindow(period: BudgetPeriod, now: number): WindowSpan {
  const d = new Date(now);
  if (period === 'daily') return rateWindow(WINDOW_MS.day, now);
  if (period === 'weekly') {
    const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    const sinceMonday = (d.getUTCDay() + 6) % 7;
    const start = day - sinceMonday * 86_400_000;
    return { start, end: start + 7 * 86_400_000 };
  }
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/** OpenAI's reset format: `20ms`, `1s`, `6m0s`, `1h2m3s`. */
export function formatReset(ms: number): string {
  const value = Math.max(0, Math.ceil(ms));
  if (value < 1000) return `${value}ms`;
  const total = Math.ceil(value / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
