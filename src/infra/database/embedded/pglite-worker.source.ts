import type { Results } from '@electric-sql/pglite';

/** Messages from EmbeddedPool to the worker. `client` numbers a checked-out pool client (session gate). */
export type WorkerRequest =
  | { op: 'query'; id: number; client: number; sql: string; params: unknown[] | undefined }
  /** COPY `rows` (a JSON array of objects keyed by column name) into `table`. */
  | { op: 'copy'; id: number; client: number; table: string; columns: string[]; rows: string }
  | { op: 'release'; client: number }
  | { op: 'close'; id: number };

/** An error's message, name and every primitive own field (code, detail, constraint, table, …). */
export type WorkerErrorFields = { message: string; name?: string } & Record<string, unknown>;

export type WorkerReply =
  | { op: 'ready' }
  | { op: 'failed'; error: WorkerErrorFields }
  | { op: 'result'; id: number; result: Results | null }
  | { op: 'error'; id: number; error: WorkerErrorFields };

export interface WorkerData {
  /** Absolute path of @electric-sql/pglite's CommonJS entry, resolved by the main thread. */
  pglitePath: string;
  /** Absolute path of @electric-sql/pglite-pgvector's CommonJS entry (the `vector` extension). */
  vectorPath: string;
  dataDir: string;
  /** How long a query waits for another client's open transaction before it fails with 55P03. */
  transactionWaitMs: number;
  /** PostgreSQL's shared_buffers for this instance (EMBEDDED_SHARED_BUFFERS), e.g. '16MB'. */
  sharedBuffers: string;
  /** A migrated data directory to copy instead of running initdb on an empty dataDir. */
  template: string | undefined;
}

/**
 * The embedded database thread, run with `new Worker(source, { eval: true })`.
 *
 * Why a string: a worker_thread loads plain JavaScript only. The gateway runs both from the tsc build
 * (`dist/`) and under jest, which compiles TypeScript in memory and has no `.js` file on disk for a
 * worker to load; a separate `.js` file would need a copy step in the build and its own lint setup.
 * An eval worker has nothing to ship or locate; its dependencies, PGlite and its pgvector bundle, are
 * required by the absolute paths the main thread resolved (workerData.pglitePath, vectorPath), so they
 * load whatever the working directory.
 * pglite-worker.source.spec.ts checks that it parses; test/integration/embedded-pool.int-spec.ts runs it.
 *
 * What it does: owns one PGlite instance and runs requests one at a time, in arrival order. Queries
 * with parameters go through `query` (extended protocol), others through `exec` (simple protocol,
 * several statements allowed, the last statement's result is answered), as typeorm-pglite did. A
 * `copy` request bulk-loads rows with `COPY … FROM '/dev/blob'`, its text built here from JSON. PGlite
 * has a single session, so while one client has a transaction block open, other clients' requests wait
 * (parked) until it ends; that keeps their statements out of someone else's transaction. A client
 * released with its transaction still open is rolled back.
 */
export const PGLITE_WORKER_SOURCE = `'use strict';
const { existsSync, cpSync } = require('node:fs');
const { join } = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite, types } = require(workerData.pglitePath);
const { vector } = require(workerData.vectorPath);

// The serializer typeorm-pglite installed: booleans bound as 'true', 1, … arrive as TRUE.
function serializeBool(value) {
  if (value === true || value === 'true' || value === 1) return 'TRUE';
  if (value === false || value === 'false' || value === 0) return 'FALSE';
  return value;
}

// Structured clone keeps an Error's message but drops PostgreSQL's fields: copy them by hand.
function plainError(error) {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const plain = { name: error.name, message: String(error.message) };
  for (const key of Object.keys(error)) {
    const value = error[key];
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) plain[key] = value;
  }
  return plain;
}

function send(reply) {
  try {
    parentPort.postMessage(reply);
  } catch (error) {
    // A value structured clone refuses: the caller gets the DataCloneError instead of no answer.
    parentPort.postMessage({ op: 'error', id: reply.id, error: plainError(error) });
  }
}

let db;
let owner = 0;
let parked = [];
let parkTimer;
const inbox = [];
let draining = false;

parentPort.on('message', (request) => {
  inbox.push(request);
  void drain();
});

// A throw here is a broken PGlite: left unhandled, it ends the worker and the pool fails every query.
async function drain() {
  if (draining || db === undefined) return;
  draining = true;
  while (inbox.length > 0) await handle(inbox.shift());
  draining = false;
}

async function handle(request) {
  if (request.op === 'release') return release(request.client);
  if (request.op === 'close') return close(request.id);
  if (owner !== 0 && request.client !== owner) return park(request);
  let reply;
  try {
    reply = { op: 'result', id: request.id, result: await run(request) };
  } catch (error) {
    reply = { op: 'error', id: request.id, error: plainError(error) };
  }
  send(reply);
  if (db.isInTransaction()) owner = request.client;
  else if (owner === request.client) endOwnership();
}

function run(request) {
  if (request.op === 'copy') {
    const rows = JSON.parse(request.rows);
    const columns = request.columns.map(quoteIdent).join(', ');
    const sql = 'COPY ' + quoteIdent(request.table) + ' (' + columns + ") FROM '/dev/blob'";
    return db.query(sql, undefined, { blob: new Blob([copyText(request.columns, rows)]) }).then(() => null);
  }
  return request.params !== undefined && request.params.length > 0
    ? db.query(request.sql, request.params)
    : db.exec(request.sql).then(lastResult);
}

function quoteIdent(name) {
  return '"' + String(name).replaceAll('"', '""') + '"';
}

// COPY's text format: tab-separated fields, backslash-N for NULL, backslash escapes for the separators.
// (Built from character codes: this source is a template literal, where backslashes would be eaten.)
const BACKSLASH = String.fromCharCode(92);
const TAB = String.fromCharCode(9);
const LF = String.fromCharCode(10);
const CR = String.fromCharCode(13);
const COPY_NULL = BACKSLASH + 'N';
const COPY_ESCAPES = { [BACKSLASH]: BACKSLASH + BACKSLASH, [TAB]: BACKSLASH + 't', [LF]: BACKSLASH + 'n', [CR]: BACKSLASH + 'r' };
const COPY_SPECIAL = new RegExp('[' + BACKSLASH + BACKSLASH + TAB + LF + CR + ']', 'g');

function copyText(columns, rows) {
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) out += TAB;
      out += copyField(row[columns[i]]);
    }
    out += LF;
  }
  return out;
}

function copyField(value) {
  if (value === null || value === undefined) return COPY_NULL;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c]);
}

function lastResult(results) {
  return results[results.length - 1] || { rows: [] };
}

async function release(client) {
  if (owner !== client) return;
  if (db.isInTransaction()) await db.exec('ROLLBACK');
  endOwnership();
}

function endOwnership() {
  owner = 0;
  if (parked.length === 0) return;
  // Parked requests arrived before anything still in the inbox: they go first, in their order.
  inbox.unshift(...parked);
  parked = [];
  stopParkTimer();
}

function park(request) {
  request.parkedAt = Date.now();
  parked.push(request);
  const every = Math.max(10, Math.min(1000, Math.floor(workerData.transactionWaitMs / 4)));
  parkTimer ??= setInterval(expireParked, every);
}

// A query that waits this long is most likely issued from inside the owner's transaction callback
// through another client, and would wait forever: fail it, as PostgreSQL's lock_timeout would.
function expireParked() {
  const limit = Date.now() - workerData.transactionWaitMs;
  parked = parked.filter((request) => {
    if (request.parkedAt > limit) return true;
    send({
      op: 'error',
      id: request.id,
      error: {
        name: 'error',
        severity: 'ERROR',
        code: '55P03',
        message:
          'embedded database: waited ' + workerData.transactionWaitMs + ' ms for another transaction to end',
      },
    });
    return false;
  });
  if (parked.length === 0) stopParkTimer();
}

function stopParkTimer() {
  if (parkTimer !== undefined) clearInterval(parkTimer);
  parkTimer = undefined;
}

async function close(id) {
  for (const request of parked) {
    send({ op: 'error', id: request.id, error: { name: 'error', code: '57P01', message: 'embedded database is closing' } });
  }
  parked = [];
  stopParkTimer();
  try {
    await db.close();
    send({ op: 'result', id, result: null });
  } catch (error) {
    send({ op: 'error', id, error: plainError(error) });
  }
}

// pgvector ships as a PGlite extension bundle: loaded here, enabled by the knowledge-base migration.
// shared_buffers: PostgreSQL's default (128MB) is most of an idle embedded gateway's memory; a start on
// an empty data directory copies the build's template instead of running initdb when there is one.
const memory = ['-c', 'shared_buffers=' + workerData.sharedBuffers];
function openDatabase() {
  if (workerData.template && !existsSync(join(workerData.dataDir, 'PG_VERSION'))) {
    cpSync(workerData.template, workerData.dataDir, { recursive: true });
  }
  return PGlite.create({
    dataDir: workerData.dataDir,
    serializers: { [types.BOOL]: serializeBool },
    extensions: { vector },
    startParams: [...PGlite.defaultStartParams, ...memory],
    initDbStartParams: memory,
  });
}
Promise.resolve().then(openDatabase).then(
  (instance) => {
    db = instance;
    parentPort.postMessage({ op: 'ready' });
    void drain();
  },
  (error) => parentPort.postMessage({ op: 'failed', error: plainError(error) }),
);
`;
