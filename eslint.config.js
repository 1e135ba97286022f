// Lint is part of `npm test`: type-aware rules catch floating promises and the like.
import tseslint from 'typescript-eslint';
import subsystemSurface from './eslint-rules/subsystem-surface.js';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // declared module surfaces (docs/architecture.md); import cycles: scripts/surface-imports.mjs --check
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    plugins: { vigo: { rules: { 'subsystem-surface': subsystemSurface } } },
    rules: { 'vigo/subsystem-surface': 'error' },
  },
  {
    // the environment is read at the entry points only, then passed down (docs/architecture.md
    // "Time, randomness, environment"): code below them takes `env` (or the one value) as a parameter
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'process.env is read only in src/cli/** (the CLI and daemon entry points): take `env` (or the value you need) as a parameter from your caller.',
        },
      ],
    },
  },
);
