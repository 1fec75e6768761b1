// Runs the gateway from its TypeScript sources in a real Node process (tests that need real processes
// and real signals), compiling each file with swc as it is required — seconds, where a full `tsc` build
// takes minutes on a loaded machine. Same code, same entry point (src/main.ts) as `npm start`.
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(import.meta.url);
const { transformSync } = require('@swc/core');

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const aliased = /^(src|migrations|test)\//.test(request) ? join(root, request) : request;
  return resolveFilename.call(this, aliased, parent, ...rest);
};
Module._extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

require(join(root, 'src/main.ts'));
