import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const shared = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks',
  restoreMocks: true,
  unstubEnvs: true,
  // Stage logs stay out of test output; tests about logs set their own logger or LOG_LEVEL.
  env: { LOG_LEVEL: 'silent' },
} as const;

/**
 * Knative's real data plane: some twenty processes and minutes of simulation, run after the
 * other rings rather than beside them, so neither starves the other on a 2-core machine.
 */
const KNATIVE_SUITE = 'test/e2e/knative-cluster.test.ts';

/** A ring of the suite: its tests, and whether it needs the built CLI (dist/) first. */
function ring(
  name: string,
  built: boolean,
  files: { include: string[]; exclude?: string[] } = { include: [`test/${name}/**/*.test.ts`] },
  groupOrder = 0,
): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      ...shared,
      name,
      include: files.include,
      exclude: [...configDefaults.exclude, ...(files.exclude ?? [])],
      sequence: { groupOrder },
      // Integration and end-to-end tests run the built CLI and bundles; unit tests run the sources only.
      ...(built ? { globalSetup: ['test/global-setup.ts'] } : {}),
    },
  };
}

// `npm test` runs every ring; `npx vitest run --project unit` runs the unit ring alone, without building.
export default defineConfig({
  test: {
    projects: [
      ring('unit', false),
      ring('integration', true),
      ring('e2e', true, { include: ['test/e2e/**/*.test.ts'], exclude: [KNATIVE_SUITE] }),
      ring('knative', true, { include: [KNATIVE_SUITE] }, 1),
    ],
  },
});
