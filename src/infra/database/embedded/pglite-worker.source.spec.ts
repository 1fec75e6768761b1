import { Script } from 'node:vm';
import { PGLITE_WORKER_SOURCE } from 'src/infra/database/embedded/pglite-worker.source';

describe('PGLITE_WORKER_SOURCE', () => {
  // The worker is a string, so neither tsc nor eslint sees it: a syntax slip would only show when the
  // embedded database starts (as a worker crash). This catches it in the fast tier.
  it('is valid JavaScript', () => {
    expect(() => new Script(PGLITE_WORKER_SOURCE, { filename: 'pglite-worker.js' })).not.toThrow();
  });

  it('requires nothing but Node built-ins and the PGlite entries the main thread resolved', () => {
    // An eval worker resolves bare package names from the working directory, not from this file.
    const required = [...PGLITE_WORKER_SOURCE.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1]);
    expect(required).toEqual([
      "'node:fs'",
      "'node:path'",
      "'node:worker_threads'",
      'workerData.pglitePath',
      'workerData.vectorPath',
    ]);
  });
});
