/**
 * The Node.js flags the gateway runs with: `npm start` and the Docker image pass them, and the
 * benchmark starts its gateway with them too (runtime-flags.spec.ts keeps the three in step). V8 takes
 * them from the command line only (not from NODE_OPTIONS, not at run time).
 *
 * `--min-semi-space-size=16`: start the young generation at its full 16 MB instead of 1 MB. A request
 * leaves almost nothing behind, so V8 keeps a small young generation and collects it about seven
 * times a second at 300 requests/s, waking its helper threads each time. At 16 MB it collects a
 * fifth as often: measured here, 40 µs less CPU per request on all threads and a quarter of the
 * young-generation pause time, for ~30 MB more resident memory.
 *
 * `--liftoff-only`: run WebAssembly on V8's baseline compiler only. The WebAssembly here is the
 * embedded PostgreSQL (PGlite, 9 MB of it) and undici's HTTP parser. Tiering PGlite's hot functions
 * up to TurboFan kept ~60 MB resident after start (a third of the embedded gateway's growth past
 * 300 MB) and compiled for seconds on the CPUs the start-up needs; its queries were no cheaper for it
 * in steady state, and the gateway's CPU per request did not change (bench/README.md, "Memory after
 * start").
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16', '--liftoff-only'];
