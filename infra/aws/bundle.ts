/**
 * Bundles each stage's Lambda entry point on its own with esbuild (tree-shaken, ESM, for
 * the nodejs24.x runtime) into .build/<stage>/index.mjs, and reports the sizes.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { build } from 'esbuild';
import { SUBSCRIPTIONS, type Stage } from '../../events/types.ts';

const LAMBDA_STAGES = Object.keys(SUBSCRIPTIONS) as Stage[];

// Files a stage starts besides its handler, bundled next to it: the simulator's pass workers
// load simulator-worker.mjs from beside the bundle (shared/simulator/engine.ts), its job worker
// simulation-worker.mjs (shared/simulator/off-thread.ts), the circuit checker
// circuit-worker.mjs (shared/qasm/analyze-off-thread.ts).
const EXTRA_ENTRIES: Partial<Record<Stage, Record<string, string>>> = {
  validate: { 'circuit-worker.mjs': 'shared/qasm/analysis-worker.ts' },
  execute: {
    'simulator-worker.mjs': 'shared/simulator/worker.ts',
    'simulation-worker.mjs': 'shared/simulator/job-worker.ts',
  },
};

/** Stages that talk to quantum providers: status for selection, submission, collection. */
const PROVIDER_STAGES = new Set<Stage>(['select-backend', 'execute', 'collect-results']);

/** The provider code and SDKs, left out of bundles that never call a provider. */
const PROVIDER_EXTERNALS = [
  '@aws-sdk/client-braket',
  './braket/braket-executor.ts',
  './ibm/ibm-client.ts',
  './ibm/ibm-executor.ts',
];

/** Bundles every stage into `folder` (default .build/, where serverless.yml looks); returns bytes per stage. */
export async function bundleStages(root: URL, folder = '.build/'): Promise<Map<Stage, number>> {
  const out = new URL(folder, root);
  await rm(out, { recursive: true, force: true });
  const sizes = new Map<Stage, number>();
  for (const stage of LAMBDA_STAGES) {
    const outfile = new URL(`${stage}/index.mjs`, out).pathname;
    await mkdir(new URL(`${stage}/`, out), { recursive: true });
    const entries: [string, string][] = [
      [outfile, `functions/${stage}/lambda.ts`],
      ...Object.entries(EXTRA_ENTRIES[stage] ?? {}).map(
        ([name, source]) => [new URL(`${stage}/${name}`, out).pathname, source] as [string, string],
      ),
    ];
    // Stages that never run or check provider tasks leave the provider code and SDKs out;
    // their executors would load it only on first use (shared/backends/providers.ts).
    const external = PROVIDER_STAGES.has(stage) ? [] : PROVIDER_EXTERNALS;
    for (const [file, source] of entries) await bundle(new URL(source, root).pathname, file, external);
    sizes.set(stage, (await stat(outfile)).size);
  }
  // The timer function (an EventBridge schedule invokes it): it never calls a provider.
  await bundle(new URL('shared/runtime/timer-lambda.ts', root).pathname, new URL('timer/index.mjs', out).pathname, [
    ...PROVIDER_EXTERNALS,
  ]);
  // The scheduled backup function: reads the bucket, never a provider.
  await bundle(new URL('shared/runtime/backup-lambda.ts', root).pathname, new URL('backup/index.mjs', out).pathname, [
    ...PROVIDER_EXTERNALS,
  ]);
  // The osls plugin that puts each function behind its `live` alias (serverless.yml's plugins).
  await build({
    entryPoints: [new URL('infra/aws/live-alias-plugin.ts', root).pathname],
    outfile: new URL('osls/live-alias-plugin.mjs', out).pathname,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return sizes;
}

async function bundle(entry: string, outfile: string, external: readonly string[]): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    treeShaking: true,
    legalComments: 'none',
    // Lambda stages never talk to a Kubernetes API; that client stays out of the bundles.
    external: ['@kubernetes/client-node', ...external],
    // Some dependencies are CommonJS and call require().
    banner: {
      js: "import { createRequire as __qpipeRequire } from 'node:module'; const require = __qpipeRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
