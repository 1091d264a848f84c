import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const shared = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks',
  restoreMocks: true,
  unstubEnvs: true,
  // Stage logs stay out of test output; tests about logs set their own logger or LOG_LEVEL.
  env: { LOG_LEVEL: 'silent' },
} as const;

/** A ring of the suite: its folder, and whether it needs the built CLI (dist/) first. */
function ring(name: string, built: boolean): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      ...shared,
      name,
      include: [`test/${name}/**/*.test.ts`],
      // Integration and end-to-end tests run the built CLI and bundles; unit tests run the sources only.
      ...(built ? { globalSetup: ['test/global-setup.ts'] } : {}),
    },
  };
}

// `npm test` runs every ring; `npx vitest run --project unit` runs the unit ring alone, without building.
export default defineConfig({
  test: { projects: [ring('unit', false), ring('integration', true), ring('e2e', true)] },
});
