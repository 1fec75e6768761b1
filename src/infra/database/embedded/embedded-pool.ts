import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Results } from '@electric-sql/pglite';
import { findEmbeddedTemplate } from 'src/infra/database/embedded/embedded-template';
import {
  PGLITE_WORKER_SOURCE,
  WorkerData,
  WorkerErrorFields,
  WorkerReply,
  WorkerRequest,
} from 'src/infra/database/embedded/pglite-worker.source';

export interface EmbeddedPoolOptions {
  /** PGlite's data directory; it must exist. */
  dataDir: string;
  /** How long a query waits for another client's open transaction before failing (SQLSTATE 55P03). */
  transactionWaitMs?: number;
  /** How long `end()` waits for PGlite to close before the worker is terminated anyway. */
  closeTimeoutMs?: number;
  /** PostgreSQL's shared_buffers (default 16MB, as EMBEDDED_SHARED_BUFFERS). */
  sharedBuffers?: string;
  /**
   * A migrated data directory copied into an empty `dataDir` instead of running initdb: default, the
   * build's template (embedded-template.ts) when there is one; null for none.
   */
  template?: string | null;
}

type QueryCallback = (error: Error | null, result?: Results) => void;
type ConnectCallback = (
  error: Error | undefined,
  client: EmbeddedClient | undefined,
  release: (error?: unknown) => void,
) => void;
type Answer = Extract<WorkerReply, { op: 'result' | 'error' }>;
/** A request as the pool hands it in; `post` numbers it. */
type Outgoing<T = Extract<WorkerRequest, { id: number }>> = T extends unknown ? Omit<T, 'id'> : never;

const TRANSACTION_WAIT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;
// Two PGlite instances on one data directory corrupt it; typeorm-pglite avoided that with a global
// singleton, which in turn made every DataSource share (and close) one database. Refuse instead.
const openDataDirs = new Set<string>();

/** A worker started ahead of its pool (prestartEmbedded), with what it reported before the pool took it. */
interface Prestarted {
  worker: Worker;
  /** The worker's settings: a pool with other settings does not take it. */
  key: string;
  events: (
    { kind: 'message'; reply: WorkerReply } | { kind: 'error'; error: Error } | { kind: 'exit'; code: number }
  )[];
  detach: () => void;
}
const prestarted = new Map<string, Prestarted>();

function workerDataFor(options: EmbeddedPoolOptions): WorkerData {
  return {
    pglitePath: require.resolve('@electric-sql/pglite'),
    vectorPath: require.resolve('@electric-sql/pglite-pgvector'),
    dataDir: resolve(options.dataDir),
    transactionWaitMs: options.transactionWaitMs ?? TRANSACTION_WAIT_MS,
    sharedBuffers: options.sharedBuffers ?? '16MB',
    template: options.template === undefined ? findEmbeddedTemplate() : (options.template ?? undefined),
  };
}

/**
 * The worker's young generation: V8 gives a worker the process's semi-space size, which
 * `--min-semi-space-size=16` (runtime-flags.ts) sets for the main thread's request path: 32 MB
 * committed here, for a thread whose JavaScript only passes queries and results between PGlite and
 * the main thread (its whole heap holds ~14 MB after start). Large rows and COPY texts go to the large
 * object space, not the young generation; see bench/README.md ("Memory after start").
 */
const WORKER_YOUNG_GENERATION_MB = 8;

function startWorker(workerData: WorkerData): Worker {
  return new Worker(PGLITE_WORKER_SOURCE, {
    eval: true,
    workerData,
    name: 'gatehouse-pglite',
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
}

/**
 * Starts the embedded database's worker now, for the pool created later with the same options to take
 * over: PGlite's start-up (WebAssembly compilation, recovery) then runs on its own thread while the
 * main thread loads the application's modules, instead of after them. Unref'd until taken; a worker no
 * pool takes does not keep the process alive. Returns the worker's thread id (undefined when the data
 * directory already has a worker).
 */
export function prestartEmbedded(options: EmbeddedPoolOptions): number | undefined {
  const workerData = workerDataFor(options);
  if (prestarted.has(workerData.dataDir) || openDataDirs.has(workerData.dataDir)) return undefined;
  const worker = startWorker(workerData);
  worker.unref();
  const entry: Prestarted = { worker, key: JSON.stringify(workerData), events: [], detach: () => undefined };
  const onMessage = (reply: WorkerReply) => entry.events.push({ kind: 'message', reply });
  const onError = (error: Error) => entry.events.push({ kind: 'error', error });
  const onExit = (code: number) => {
    entry.events.push({ kind: 'exit', code });
    if (prestarted.get(workerData.dataDir) === entry) prestarted.delete(workerData.dataDir);
  };
  worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  entry.detach = () => worker.off('message', onMessage).off('error', onError).off('exit', onExit);
  prestarted.set(workerData.dataDir, entry);
  return worker.threadId;
}

/** The prestarted worker for these settings, taken out of the map (another one is terminated). */
function takePrestarted(workerData: WorkerData): Prestarted | undefined {
  const entry = prestarted.get(workerData.dataDir);
  if (!entry) return undefined;
  prestarted.delete(workerData.dataDir);
  entry.detach();
  if (entry.key === JSON.stringify(workerData)) return entry;
  void entry.worker.terminate();
  return undefined;
}

/** Rebuilds a worker-side error as an Error carrying the same fields a PGlite/pg DatabaseError has. */
function toError(fields: WorkerErrorFields): Error {
  return Object.assign(new Error(fields.message), fields);
}

function unavailable(message: string, cause?: unknown): WorkerErrorFields {
  // 08006 (connection_failure): to callers this is a lost server connection, i.e. an outage to retry.
  return { name: 'error', severity: 'FATAL', code: '08006', message, ...(cause ? { cause } : {}) };
}

/** One checked-out "connection": every client shares PGlite's single session, gated per transaction. */
export class EmbeddedClient extends EventEmitter {
  private released = false;

  constructor(
    private readonly pool: EmbeddedPool,
    readonly id: number,
  ) {
    super();
  }

  /** pg's `client.query(text, values?, callback?)`: the promise form unless a callback is given. */
  query(
    text: string,
    values?: unknown[] | QueryCallback,
    callback?: QueryCallback,
  ): Promise<Results> | undefined {
    const promise = this.run(text, Array.isArray(values) ? values : undefined);
    const done = typeof values === 'function' ? values : callback;
    if (!done) return promise;
    promise.then(
      (result) => done(null, result),
      (error: Error) => done(error),
    );
    return undefined;
  }

  /**
   * `EmbeddedPool.copyRows` on this client: inside a transaction this client holds, the load is part of
   * it (a COPY on a client of its own would wait for this transaction to end).
   */
  async copyRows(table: string, columns: readonly string[], rows: string): Promise<void> {
    if (this.released) throw new Error('embedded database: client used after release');
    const answer = await this.pool.send({ op: 'copy', client: this.id, table, columns: [...columns], rows });
    if (answer.op === 'error') throw toError(answer.error);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.releaseClient(this.id);
  }

  private async run(text: string, values: unknown[] | undefined): Promise<Results> {
    if (typeof text !== 'string') throw new TypeError('embedded database: only query text is supported');
    if (this.released) throw new Error('embedded database: client used after release');
    const answer = await this.pool.send({ op: 'query', client: this.id, sql: text, params: values });
    // Thrown here, after the await, so the stack shows the caller's async chain rather than the worker's.
    if (answer.op === 'error') throw toError(answer.error);
    return answer.result as Results;
  }
}

/**
 * A pg-Pool look-alike for TypeORM's postgres driver (`driver: embeddedPgDriver(...)`) that runs PGlite
 * in a worker_thread. PGlite executes every statement synchronously in WebAssembly; on the main thread
 * that stalled the event loop for the length of each query (~22 ms for a 500-row ledger batch). Results
 * cross the thread boundary by structured clone, which keeps what PGlite's parsers produce (Date,
 * Uint8Array, numbers, null, parsed JSON) as they are.
 *
 * Lifecycle: the worker starts with the pool (TypeORM creates it in `DataSource.initialize()`), `end()`
 * closes PGlite (flushing its data directory) and terminates the worker. If the worker dies, every
 * pending and later query fails with SQLSTATE 08006; nothing waits forever. The worker is unref'd while
 * idle so an undestroyed DataSource does not keep the process alive.
 */
export class EmbeddedPool extends EventEmitter {
  private readonly dataDir: string;
  private readonly closeTimeoutMs: number;
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly pending = new Map<number, (answer: Answer) => void>();
  private markReady!: () => void;
  private markFailed!: (error: Error) => void;
  private started = false;
  private lastId = 0;
  private lastClient = 0;
  /** Why the worker can no longer answer (crashed, failed to start, or closed). */
  private gone: WorkerErrorFields | undefined;
  private ending: Promise<void> | undefined;

  constructor(options: EmbeddedPoolOptions) {
    super();
    this.dataDir = resolve(options.dataDir);
    this.closeTimeoutMs = options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
    if (openDataDirs.has(this.dataDir)) {
      throw new Error(`embedded database ${this.dataDir} is already open in this process`);
    }
    const workerData = workerDataFor(options);
    const early = takePrestarted(workerData);
    this.ready = new Promise<void>((resolveReady, rejectReady) => {
      this.markReady = resolveReady;
      this.markFailed = rejectReady;
    });
    // Delivered to whoever connects or queries; without a listener here a failed start would also be
    // reported as an unhandled rejection.
    this.ready.catch(() => undefined);
    this.worker = early?.worker ?? startWorker(workerData);
    openDataDirs.add(this.dataDir);
    const onError = (error: Error) =>
      this.onGone(unavailable(`embedded database worker crashed: ${error.message}`, error));
    const onExit = (code: number) => {
      openDataDirs.delete(this.dataDir);
      this.onGone(unavailable(`embedded database worker exited (code ${code})`));
    };
    this.worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    this.worker.on('error', onError);
    this.worker.on('exit', onExit);
    // What a prestarted worker reported before this pool took it, in order.
    for (const event of early?.events ?? []) {
      if (event.kind === 'message') this.onReply(event.reply);
      else if (event.kind === 'error') onError(event.error);
      else onExit(event.code);
    }
  }

  /** pg's `pool.connect()`: resolves (or calls back) once PGlite has started. */
  connect(callback?: ConnectCallback): Promise<EmbeddedClient> | undefined {
    const promise = this.checkout();
    if (!callback) return promise;
    promise.then(
      (client) => callback(undefined, client, () => client.release()),
      (error: Error) => callback(error, undefined, () => undefined),
    );
    return undefined;
  }

  /** pg's `pool.query()`: one statement on a client of its own. */
  query(
    text: string,
    values?: unknown[] | QueryCallback,
    callback?: QueryCallback,
  ): Promise<Results> | undefined {
    const promise = this.checkout().then(async (client) => {
      try {
        return (await client.query(text, Array.isArray(values) ? values : []))!;
      } finally {
        client.release();
      }
    });
    const done = typeof values === 'function' ? values : callback;
    if (!done) return promise;
    promise.then(
      (result) => done(null, result),
      (error: Error) => done(error),
    );
    return undefined;
  }

  /**
   * Bulk-loads rows into `table` with `COPY … FROM '/dev/blob'`. `rows` is a JSON array of objects keyed
   * by column name, each value in its column's text form (booleans, numbers and strings as they are,
   * objects and arrays as JSON, null for NULL). JSON crosses the thread boundary cheaply; the COPY text
   * is built in the worker. In PGlite this costs a third of `INSERT … SELECT FROM jsonb_to_recordset`
   * per row. Like COPY itself it is all or nothing, and has no ON CONFLICT: a duplicate key fails the
   * whole load (SQLSTATE 23505).
   */
  async copyRows(table: string, columns: readonly string[], rows: string): Promise<void> {
    const client = await this.checkout();
    try {
      await client.copyRows(table, columns, rows);
    } finally {
      client.release();
    }
  }

  /** Closes PGlite and terminates the worker; later queries fail. Idempotent. */
  end(callback?: (error?: Error) => void): Promise<void> | undefined {
    this.ending ??= this.shutdown();
    if (!callback) return this.ending;
    this.ending.then(
      () => callback(),
      (error: Error) => callback(error),
    );
    return undefined;
  }

  /** @internal EmbeddedClient's way in. */
  send(request: Extract<Outgoing, { op: 'query' | 'copy' }>): Promise<Answer> {
    if (this.ending)
      return Promise.resolve({ op: 'error', id: 0, error: unavailable('embedded database is closed') });
    return this.post(request);
  }

  /** @internal */
  releaseClient(client: number): void {
    if (!this.gone && !this.ending)
      this.worker.postMessage({ op: 'release', client } satisfies WorkerRequest);
  }

  private async checkout(): Promise<EmbeddedClient> {
    if (this.ending) throw toError(unavailable('embedded database is closed'));
    await this.ready;
    return new EmbeddedClient(this, ++this.lastClient);
  }

  private post(request: Outgoing): Promise<Answer> {
    if (this.gone) return Promise.resolve({ op: 'error', id: 0, error: this.gone });
    const id = ++this.lastId;
    return new Promise<Answer>((settle, reject) => {
      try {
        // Structured clone happens here: a parameter it cannot copy (a function, a symbol) throws.
        this.worker.postMessage({ ...request, id } satisfies WorkerRequest);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.pending.set(id, settle);
      if (this.pending.size === 1) this.worker.ref();
    });
  }

  private onReply(reply: WorkerReply): void {
    if (reply.op === 'ready') {
      this.started = true;
      this.markReady();
      if (this.pending.size === 0) this.worker.unref();
      return;
    }
    if (reply.op === 'failed') {
      this.onGone(unavailable(`embedded database failed to start: ${reply.error.message}`, reply.error));
      void this.worker.terminate();
      return;
    }
    const settle = this.pending.get(reply.id);
    if (!settle) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && this.started) this.worker.unref();
    settle(reply);
  }

  private onGone(reason: WorkerErrorFields): void {
    if (this.gone) return;
    this.gone = reason;
    for (const [id, settle] of this.pending) settle({ op: 'error', id, error: reason });
    this.pending.clear();
    this.markFailed(toError(reason));
    // TypeORM listens (and logs); without a listener an 'error' event would throw.
    if (!this.ending && this.listenerCount('error') > 0) this.emit('error', toError(reason));
  }

  private async shutdown(): Promise<void> {
    // Requests sent before end() are answered first: the worker handles them in order.
    const answer = this.gone ? undefined : await this.closeWithin(this.closeTimeoutMs);
    await this.worker.terminate();
    openDataDirs.delete(this.dataDir);
    if (answer?.op === 'error') throw toError(answer.error);
  }

  private async closeWithin(ms: number): Promise<Answer> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Answer>((settle) => {
      timer = setTimeout(
        () => settle({ op: 'error', id: 0, error: unavailable('embedded database did not close in time') }),
        ms,
      );
    });
    try {
      return await Promise.race([this.post({ op: 'close' }), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** TypeORM's postgres `driver` option for embedded PGlite: each DataSource gets its own worker. */
export function embeddedPgDriver(options: EmbeddedPoolOptions): { Pool: new () => EmbeddedPool } {
  return {
    Pool: class extends EmbeddedPool {
      constructor() {
        super(options);
      }
    },
  };
}
