// One linter (ESLint with typescript-eslint, type-aware) and one formatter (Prettier).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** What neither stage logic nor the domain may import. */
const BOUNDARIES = [
  {
    group: ['@aws-sdk/*', '@middy/*', '@kubernetes/*'],
    message: 'Take ports; wire SDKs in functions/*/lambda.ts or the shared adapters.',
  },
  {
    group: ['node:http', 'node:https', 'http', 'https'],
    message: 'HTTP belongs to the runtime adapters.',
  },
];

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
  ...tseslint.configs.strictTypeChecked,
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
      // Numbers and booleans read plainly in messages; objects and undefined still need a decision.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // @kubernetes/client-node's models and the CloudEvents SDK's events are classes of plain
      // fields, built from object literals in their own documentation.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true },
      ],
    },
  },
  {
    // Stage logic never knows where it is deployed: every file of a stage but its Lambda entry
    // takes ports, never a cloud SDK, middleware, an HTTP server, a runtime adapter or another stage.
    files: ['functions/*/*.ts'],
    ignores: ['functions/*/lambda.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...BOUNDARIES,
            {
              group: [
                '**/runtime/lambda.ts',
                '**/runtime/knative.ts',
                '**/runtime/serve.ts',
                '**/runtime/http-host.ts',
                '**/runtime/http-binding.ts',
                '**/runtime/embedded.ts',
                '**/runtime/deployed-ports.ts',
                '**/runtime/eventbridge-publisher.ts',
              ],
              message: 'Handlers take ports; runtimes wire them (shared/runtime adapters, functions/*/lambda.ts).',
            },
            {
              group: ['../*/*.ts', '!../../*'],
              message: 'A stage never imports another stage; move shared code to shared/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The pure domain (OpenQASM, simulator, transpiler, ledger arithmetic and budget admission,
    // sessions, job validation, selection, pricing, result quality) knows nothing of deployments or stages.
    files: [
      'shared/qasm/**/*.ts',
      'shared/simulator/**/*.ts',
      'shared/transpile/**/*.ts',
      'shared/budget/ledger.ts',
      'shared/budget/admission.ts',
      'shared/budget/budget-status.ts',
      'shared/budget/budget-exceeded.ts',
      'shared/sessions.ts',
      'shared/job-validation.ts',
      'shared/backends/selection.ts',
      'shared/pricing/**/*.ts',
      'shared/quality.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...BOUNDARIES,
            {
              group: ['**/runtime/*', '**/functions/**'],
              message: 'Domain modules are pure: runtimes and stages depend on them, never the reverse.',
            },
          ],
        },
      ],
    },
  },
  {
    // In tests a missing value that `!` skips fails the test as surely as an expect would,
    // stand-ins implement async ports without awaiting anything, and an HTTP stand-in's
    // `return send(res, ...)` reads as "answer and stop". Tests read JSON (results, CRDs,
    // logs) and assert on its fields: a wrong shape fails the assertion, so the any of
    // JSON.parse is not unsafe there as it would be in the product.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
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
  {
    // Plain Node scripts that run without a loader (test/support/loopback-bridge.mjs).
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
