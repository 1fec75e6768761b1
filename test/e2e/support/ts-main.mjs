// Runs a TypeScript entry point (e.g. src/main.ts) in a plain Node process, compiled on the fly with
// swc (seconds, where a full `tsc` build takes minutes on a loaded machine), with the `src/`, `test/`, `migrations/` and `bench/` path aliases. Used by tests that need the real start-up order of a
// separate process (the OpenTelemetry SDK patches modules process-wide, which must not leak into jest).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(join(root, 'package.json'));
const Module = require('node:module');
const { transformSync } = require('@swc/core');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (/^(src|test|migrations|bench)\//.test(request)) request = join(root, request);
  return resolveFilename.call(this, request, parent, ...rest);
};
Module._extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
  });
  module._compile(code, filename);
};

require(resolve(root, process.argv[2]));
