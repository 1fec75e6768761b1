/** Three tiers as in STYLE.md: unit beside the code, integration and e2e under test/. */
const transform = { '^.+\\.(t|j)s$': ['@swc/jest'] };
const moduleNameMapper = {
  '^src/(.*)$': '<rootDir>/src/$1',
  '^test/(.*)$': '<rootDir>/test/$1',
  '^migrations/(.*)$': '<rootDir>/migrations/$1',
  '^bench/(.*)$': '<rootDir>/bench/$1',
};
// A few dependencies ship ESM only; jest on Node 20 cannot require() them, so swc compiles them too.
const ESM_PACKAGES = ['content-disposition', 'jose'];
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`];
const common = {
  rootDir: __dirname,
  transform,
  transformIgnorePatterns,
  moduleNameMapper,
  testEnvironment: 'node',
};
module.exports = {
  // Hook and test timeouts are global options: inside a project entry jest ignores them (hooks then get 5 s,
  // too little for a gateway that drains in-flight upstream calls on close).
  testTimeout: 60000,
  // Drops the migrated template databases the e2e gateways boot from (test/e2e/support/test-gateway.ts).
  globalTeardown: '<rootDir>/test/setup/drop-template-databases.js',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'],
      setupFiles: ['<rootDir>/test/setup/route-extensions.ts'],
    },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'], testTimeout: 60000 },
  ],
};
