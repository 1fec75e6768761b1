/**
 * Shared bits of the benchmark: the IPC messages children send to the runner, the request bodies,
 * and small statistics helpers. Imported by the runner and by every child process.
 */

/** Sent by a child process once all its listeners are bound. */
export interface ReadyMessage {
  type: 'ready';
  /** Listening ports, in the order of the upstreams/delays the child was given. */
  ports: number[];
}

/** Sent by the runner to ask a child to close its servers and exit (lets `--cpu-prof` write its file). */
export interface StopMessage {
  type: 'stop';
}

/** Sent by the soak runner to ask the gateway for its memory (after a full GC when it can) and descriptors. */
export interface SampleRequest {
  type: 'sample';
}

export interface MemorySample {
  type: 'memory';
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Open file descriptors (sockets included). */
  fds: number;
  /** Whether a full GC ran first (the process was started with --expose-gc). */
  collected: boolean;
}

export function isSampleRequest(value: unknown): value is SampleRequest {
  return value !== null && typeof value === 'object' && (value as Record<string, unknown>).type === 'sample';
}

export function isMemorySample(value: unknown): value is MemorySample {
  return value !== null && typeof value === 'object' && (value as Record<string, unknown>).type === 'memory';
}

export function isReadyMessage(value: unknown): value is ReadyMessage {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return (
    record.type === 'ready' && Array.isArray(record.ports) && record.ports.every((p) => typeof p === 'number')
  );
}

export function isStopMessage(value: unknown): value is StopMessage {
  return value !== null && typeof value === 'object' && (value as Record<string, unknown>).type === 'stop';
}

/** Sends the ready message to the parent (no-op when the file is run without an IPC channel). */
export function announceReady(ports: number[]): void {
  const message: ReadyMessage = { type: 'ready', ports };
  if (process.send) process.send(message);
  else process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * Runs `stop` once when the parent asks for it, when the IPC channel closes (the parent died) or, with
 * `handleSignals`, on SIGTERM/SIGINT, then exits. A child therefore never outlives the runner.
 */
export function exitWhenParentGoes(stop: () => Promise<void>, handleSignals = true): void {
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3_000);
    force.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (message: unknown) => {
    if (isStopMessage(message)) shutdown();
  });
  process.on('disconnect', shutdown);
  if (handleSignals) {
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  }
}

/** A realistic, small chat request (the same bytes go to every target). */
export function chatRequestBody(model: string, stream: boolean): string {
  const body: Record<string, unknown> = {
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant. Answer in two sentences at most.' },
      {
        role: 'user',
        content: 'What does an AI gateway add in front of a model provider, and why would I want one?',
      },
    ],
    temperature: 0.2,
    max_tokens: 128,
  };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return JSON.stringify(body);
}

/** Nearest-rank percentile of an ascending array (0 < p ≤ 100); NaN for an empty array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((acc, v) => acc + v, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
  };
}

export function envNumber(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number between ${min} and ${max} (got '${raw}')`);
  }
  return value;
}
