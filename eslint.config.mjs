import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'coverage/**',
      '.venv/**',
      'jest.config.js',
      // jest's globalTeardown, loaded by jest itself as plain CommonJS (like jest.config.js).
      'test/setup/*.js',
      'eslint.config.mjs',
      // Plain ESM run by Node in a child process (oidc-provider is ESM-only); not part of the TS project.
      'test/e2e/support/*.mjs',
      // The console's bundler config (plain ESM) and its client types, generated from the OpenAPI document.
      'web/vite.config.mjs',
      'web/src/api/schema.d.ts',
      // Build steps in plain ESM run by Node on the compiled output; not part of the TS project.
      'scripts/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Dependency direction: infrastructure, configuration and the shared kernel sit below the feature
    // modules and never import one (types excepted: they vanish at compile time). Feature modules register
    // what the lower layers need (entities through TypeOrmModule.forFeature, for instance).
    files: ['src/infra/**/*.ts', 'src/config/**/*.ts', 'src/common/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['src/modules/*', '**/modules/*'],
              allowTypeImports: true,
              message: 'src/infra, src/config and src/common may not depend on a feature module.',
            },
          ],
        },
      ],
    },
  },
  {
    // Routing stores what cache, moderation, limits, prompts and conversations compile, by type only: those
    // modules register their compilers with routing (route-extension.registry), never the other way round.
    files: ['src/modules/routing/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'src/modules/cache/*',
                'src/modules/moderation/*',
                'src/modules/limits/*',
                'src/modules/prompts/*',
                'src/modules/conversations/*',
                '**/modules/cache/*',
                '**/modules/moderation/*',
                '**/modules/limits/*',
                '**/modules/prompts/*',
                '**/modules/conversations/*',
              ],
              allowTypeImports: true,
              message:
                'routing may not depend on cache/moderation/limits/prompts/conversations at run time: register a compiler from that module (route-extension.registry) and import its types with `import type`.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
