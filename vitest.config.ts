import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The e2e ring runs the built CLI, so build it once before any test file runs.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    restoreMocks: true,
    unstubEnvs: true,
    // Stage logs stay out of test output; tests about logs set their own logger or LOG_LEVEL.
    env: { LOG_LEVEL: 'silent' },
  },
});
