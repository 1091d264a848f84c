// One linter (ESLint with typescript-eslint, type-aware) and one formatter (Prettier).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.qpipe/**',
      '.serverless/**',
      '.build/**',
      '.build-offline/**',
      'test/bench/peers/**',
      'infra/aws/node_modules/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A forgotten await on a publish loses an event silently.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Stage logic never knows where it is deployed: no cloud SDKs, middleware or HTTP server.
    files: ['functions/*/handler.ts', 'functions/*/compose.ts', 'functions/*/projection.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', '@middy/*', '@kubernetes/*'],
              message: 'Handlers take ports; wire SDKs in lambda.ts or the shared adapters (shared/runtime).',
            },
            {
              group: ['node:http', 'node:https', 'http', 'https'],
              message: 'Handlers take ports; HTTP belongs to the runtime adapters.',
            },
            {
              group: ['../*/handler.ts', '../*/*.ts', '!../../*'],
              message: 'A stage never imports another stage; move shared code to shared/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', URL: 'readonly', console: 'readonly' },
    },
  },
);
